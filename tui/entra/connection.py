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

from tui.entra.signin import CLOUD_HOSTS, DEFAULT_CLIENT_ID, SignInConfig
from tui.project.model import Cloud, Connection, Project

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


def customised(conn: Connection) -> bool:
    """Whether the connection names a cloud, tenant or login address of its own."""
    default = Connection()
    return (conn.cloud, conn.tenant.strip(), conn.login_url.strip()) != (
        default.cloud,
        default.tenant,
        default.login_url,
    )


def project_authority(project: Project) -> str:
    """Where this project signs in: its connection; for a project from before the
    connection (or imported), the login host of its package's Entra authority."""
    conn = project.connection
    if not customised(conn):
        host = urlsplit(project.entra.authority or "").netloc
        if host:
            return f"https://{host}/{conn.tenant.strip() or 'organizations'}"
    return authority(conn)


def sign_in_config(project: Project, client_id: str = DEFAULT_CLIENT_ID) -> SignInConfig:
    """Where and how to sign in for the bulk token (Windows Configuration Designer's client)."""
    conn = project.connection
    return SignInConfig(
        authority=project_authority(project),
        client_id=client_id,
        proxy=conn.proxy.strip() or None,
        ca_bundle=conn.ca_bundle.strip() or None,
    )


def graph_config(project: Project) -> SignInConfig:
    """The same connection for Microsoft Graph (the Graph Command Line Tools client)."""
    from tui.entra.graph import GRAPH_CLIENT_ID

    return sign_in_config(project, GRAPH_CLIENT_ID)


def graph_url(conn: Connection) -> str | None:
    """The Graph address to use instead of the cloud's, or None."""
    return conn.graph_url.strip() or None


def shown_proxy(proxy: str) -> str:
    """The proxy address without a user name and password in it (those are secrets)."""
    parts = urlsplit(proxy.strip())
    if parts.username or parts.password:
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"{parts.scheme}://…@{host}"
    return proxy.strip()


def describe(project: Project) -> str:
    """One line for the accounts step: where the sign-ins go (never a proxy password)."""
    conn = project.connection
    extra = [f"proxy {shown_proxy(conn.proxy)}"] if conn.proxy.strip() else []
    extra += [f"CA bundle {conn.ca_bundle}"] if conn.ca_bundle.strip() else []
    where = CLOUD_NAMES[Cloud(conn.cloud)] if not conn.login_url.strip() else login_base(conn)
    text = f"Tenant connection: {project_authority(project)} ({where})"
    return text + (", " + ", ".join(extra) if extra else "") + "."
