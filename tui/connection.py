"""The project's tenant connection as sign-in settings: one place for the bulk token, the
tenant check and the enrollment verification (and the ``token``/``check``/``verify``
commands when no option overrides it).

Login and Graph hosts per cloud (Microsoft's national cloud deployment list): public
``login.microsoftonline.com`` / ``graph.microsoft.com``; US Government
``login.microsoftonline.us`` / ``graph.microsoft.us``; China (21Vianet)
``login.chinacloudapi.cn`` / ``microsoftgraph.chinacloudapi.cn``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tui.model import Cloud, Connection
from tui.signin import CLOUD_HOSTS, DEFAULT_CLIENT_ID, SignInConfig

CLOUD_NAMES = {
    Cloud.GLOBAL: "Public",
    Cloud.USGOV: "US Government",
    Cloud.CHINA: "China (21Vianet)",
}
# Only the public cloud's bulk token endpoint has been seen working; docs/bulk-token.md.
BULK_TOKEN_NOTES = {
    Cloud.USGOV: "The bulk token endpoint on login.microsoftonline.us is not confirmed: "
    "Windows Configuration Designer's calls are only documented for the public cloud.",
    Cloud.CHINA: "The bulk token endpoint on login.chinacloudapi.cn is not confirmed: "
    "Windows Configuration Designer's calls are only documented for the public cloud.",
}


def login_base(conn: Connection) -> str:
    """``https://host[:port]`` of the login service: the override, else the cloud's."""
    if conn.login_url.strip():
        parts = urlsplit(conn.login_url.strip())
        return f"https://{parts.netloc}"
    return f"https://{CLOUD_HOSTS[Cloud(conn.cloud).value]}"


def authority(conn: Connection) -> str:
    return f"{login_base(conn)}/{conn.tenant.strip() or 'organizations'}"


def sign_in_config(conn: Connection, client_id: str = DEFAULT_CLIENT_ID) -> SignInConfig:
    """Where and how to sign in for the bulk token (Windows Configuration Designer's client)."""
    return SignInConfig(
        authority=authority(conn),
        client_id=client_id,
        proxy=conn.proxy.strip() or None,
        ca_bundle=conn.ca_bundle.strip() or None,
    )


def graph_config(conn: Connection) -> SignInConfig:
    """The same connection for Microsoft Graph (the Graph Command Line Tools client)."""
    from tui.graph import GRAPH_CLIENT_ID

    return sign_in_config(conn, GRAPH_CLIENT_ID)


def graph_url(conn: Connection) -> str | None:
    """The Graph address to use instead of the cloud's, or None."""
    return conn.graph_url.strip() or None


def describe(conn: Connection) -> str:
    """One line for the accounts step: where the sign-ins go."""
    extra = [f"proxy {conn.proxy}"] if conn.proxy.strip() else []
    extra += [f"CA bundle {conn.ca_bundle}"] if conn.ca_bundle.strip() else []
    where = CLOUD_NAMES[Cloud(conn.cloud)] if not conn.login_url.strip() else login_base(conn)
    text = f"Tenant connection: {authority(conn)} ({where})"
    return text + (", " + ", ".join(extra) if extra else "") + "."
