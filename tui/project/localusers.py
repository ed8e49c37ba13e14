"""Local users: the groups a user may join, and what a password should be.

The groups live here once: the rules, the Accounts step's choices and the compiler's
Accounts CSP values all read them.
"""

from __future__ import annotations

ADMINISTRATORS = "Administrators"
STANDARD_USERS = "Standard Users"
LOCAL_USER_GROUPS = (ADMINISTRATORS, STANDARD_USERS)  # the groups a project may choose
# The Accounts CSP's UserGroup value of each group it knows, as real WCD 2025 output shows
# (Administrators = 2); "Users" is the standard users' group under its Windows name.
USER_GROUP_IDS = {"Users": 1, STANDARD_USERS: 1, ADMINISTRATORS: 2, "Guests": 3}


PASSWORD_ADVISED_LENGTH = 8
_PASSWORD_KINDS = (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum())


def password_hint(name: str, password: str) -> str | None:
    """What Windows' password complexity policy would object to. Windows does not enforce
    it for local accounts a package creates unless a policy on the device asks for it, so
    this is a warning, never a refusal."""
    if not password:
        return None
    if name.strip() and name.casefold() in password.casefold():
        return "holds the user name: anyone who sees the name can guess it."
    weak = []
    if len(password) < PASSWORD_ADVISED_LENGTH:
        weak.append(f"{len(password)} characters ({PASSWORD_ADVISED_LENGTH} or more advised)")
    kinds = sum(any(kind(c) for c in password) for kind in _PASSWORD_KINDS)
    if kinds < 3:
        weak.append(
            f"{kinds} of the 4 kinds of character (upper case, lower case, digits, symbols; "
            "3 advised)"
        )
    if weak:
        return (
            f"is easy to guess: {' and '.join(weak)}. Windows accepts it unless a "
            "complexity policy on the device refuses it."
        )
    return None


def password_confirmation(password: str, confirmation: str) -> str | None:
    """The sentence refusing a password typed twice differently, or None."""
    if password != confirmation:
        return "Confirm password: the two passwords differ; type the same password twice."
    return None


def group(value: str) -> str | None:
    if value not in LOCAL_USER_GROUPS:
        return f"must be {' or '.join(LOCAL_USER_GROUPS)}."
    return None
