"""What the bulk token's sign-in shows on the accounts step: whether a browser can be offered
here, and one line for each step of the flow (never a secret)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

SIGN_IN_CHOICES = (
    ("device_code", "A code, on any device"),
    ("browser", "A browser on this computer"),
)
WAITING = "Waiting for Entra ID"


def browser_here(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    find: Callable[[], object] | None = None,
) -> bool:
    """Whether a browser the technician can see can be opened on this computer.

    Linux and other Unixes need a display (DISPLAY or WAYLAND_DISPLAY: none over SSH
    without X forwarding); on macOS an SSH session would open it on someone else's screen.
    Then ``webbrowser.get()`` must find a browser that is not a console one (lynx, w3m,
    a $BROWSER script): those would draw into this very terminal.
    """
    import webbrowser

    over_ssh = bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))
    display = bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    if (platform == "darwin" and over_ssh) or (platform not in ("darwin", "win32") and not display):
        return False
    try:
        browser = (find or webbrowser.get)()
    except webbrowser.Error:
        return False
    if isinstance(browser, webbrowser.UnixBrowser):
        return browser.background
    return type(browser) is not webbrowser.GenericBrowser


def describe_event(event: object) -> str | None:
    """One line for a step of the bulk token flow; never holds a secret."""
    from tui.entra.bulktoken import CreatingPackageUser, Done, Polling
    from tui.entra.signin import SignedIn, WaitingForBrowser, WaitingForSignIn

    match event:
        case WaitingForSignIn(user_code=code, verification_uri=uri):
            return (
                f"On any device, open {uri}\nand enter the code  {code}\n"
                "Sign in as an administrator; if asked to stay signed in everywhere, "
                'answer "No, sign in to this app only". Ctrl+G cancels.'
            )
        case WaitingForBrowser(auth_uri=uri):
            return (
                "Sign in as an administrator in the browser opening on this computer; "
                f"if none opens, open this address in a browser here:\n{uri}\nCtrl+G cancels."
            )
        case SignedIn(username=user):
            return f"Signed in as {user or 'an administrator'}."
        case CreatingPackageUser():
            return "Asking Entra ID to create the package user…"
        case Polling(attempt=n):
            return f"{WAITING} to issue the token (check {n})…"
        case Done(package_user=user):
            return f"Entra ID created the package user {user}."
    return None
