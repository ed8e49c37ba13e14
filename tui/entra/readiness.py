"""Tenant readiness for bulk enrollment, read through Microsoft Graph before "Get bulk token".

Each rule is a pure function from Graph's JSON answers to a ``Check`` (tui.entra.readiness_rules,
tenantrules, conditional_access); ``run_readiness`` does the calls. Anything the signed-in
account may not read is "not checked", never "pass".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.entra.checks import (  # noqa: F401 (re-exported: the callers' import path)
    LABELS,
    NEEDS,
    Check,
    Checked,
    Checking,
    Status,
    answered,
    exit_status,
    not_checked,
    render_checks,
    run_checks,
    unanswered,
    worst,
)
from tui.entra.conditional_access import (  # noqa: F401 (re-exported)
    CONDITIONAL_ACCESS,
    ENROLLMENT_APPS,
    EXCLUDE_HOW,
    INTUNE_APP_ID,
    PACKAGE_CA,
    REGISTER_DEVICE_ACTION,
    catches_enrollment,
    conditional_access_check,
    excludes_package_users,
    package_user_ca_check,
    policy_groups,
    read_conditional_access,
    requires_mfa,
)
from tui.entra.graph import (
    PACKAGE_USER_PERMISSIONS,
    READINESS_PERMISSIONS,
    GraphClient,
    GraphError,
    connect,
)
from tui.entra.package_user import (  # noqa: F401 (re-exported)
    PACKAGE_USER,
    found_package_user,
    member_groups,
    package_user_of,
    package_user_rules,
    read_policies,
)
from tui.entra.readiness_rules import (  # noqa: F401 (re-exported)
    JOIN,
    LICENSE,
    LOW_DEVICE_QUOTA,
    MDM_SCOPE,
    PREMIUM_PLANS,
    QUOTA,
    SYNC_FABRIC,
    SYNC_FABRIC_APP_ID,
    join_check,
    join_groups,
    license_check,
    mdm_groups,
    mdm_scope_check,
    quota_check,
    sync_fabric_check,
)
from tui.entra.signin import CancelToken, SignInConfig
from tui.entra.tenantrules import (
    FEDERATION,
    PACKAGE_JOIN,
    PACKAGE_MDM,
    PLATFORM,
    WCD_APP,
    WCD_APP_ID,
    admin_consent_url,
    federation_check,
    package_join_check,
    platform_restriction_check,
    wcd_app_check,
)
from tui.errors import UserError
from tui.project.model import Project

CHECK_NAMES = (
    LICENSE,
    JOIN,
    FEDERATION,
    WCD_APP,
    QUOTA,
    SYNC_FABRIC,
    PACKAGE_JOIN,
    CONDITIONAL_ACCESS,
    MDM_SCOPE,
    PLATFORM,
)
# After the token, when the project names its package user.
PACKAGE_CHECK_NAMES = (PACKAGE_USER, PACKAGE_CA, PACKAGE_MDM)


# --- the calls -------------------------------------------------------------------------------


def run_readiness(
    config: SignInConfig,
    *,
    on_event: Callable[[object], None],
    cancel: CancelToken,
    graph_url: str | None = None,
    deadline: float | None = None,
    sleep: Callable[[float], object] | None = None,
    sign_in_options: dict[str, Any] | None = None,
    project: Project | None = None,
) -> list[Check]:
    """Sign in for the read-only readiness permissions, then check the tenant.

    With a ``project`` whose bulk token was issued (a package user is known), the package user
    itself is checked too. Blocks (run it in a worker thread); ``on_event`` gets the sign-in
    events of ``tui.entra.signin`` (the device code to show), then ``Checking``/``Checked``
    per check.
    """
    package_user = None
    if project is not None and (project.entra.package_user or project.entra.token_package_id):
        package_user = package_user_of(project)
    permissions = READINESS_PERMISSIONS + (PACKAGE_USER_PERMISSIONS if package_user else ())
    with connect(
        config,
        permissions,
        graph_url=graph_url,
        on_event=on_event,
        cancel=cancel,
        deadline=deadline,
        sleep=sleep,
        sign_in_options=sign_in_options,
    ) as graph:
        return read_readiness(
            graph, on_event=on_event, package_user=package_user, login_base=config.login_base
        )


def read_readiness(
    graph: GraphClient,
    *,
    on_event: Callable[[object], None] | None = None,
    package_user: tuple[str, str] | None = None,
    login_base: str = "https://login.microsoftonline.com",
) -> list[Check]:
    """Read the tenant and apply every rule: one ``Check`` per name in ``CHECK_NAMES``, then,
    given the project's package user (UPN, package id), ``PACKAGE_CHECK_NAMES``."""
    emit = on_event or (lambda event: None)
    try:
        me = graph.get("/me", params={"$select": "id,userPrincipalName"})
    except GraphError as error:
        raise UserError(
            f"Microsoft Graph would not read the signed-in user ({error.status} {error.code})."
        ) from None
    upn = me.get("userPrincipalName") or ""
    policies = read_policies(graph)
    policy, mdm, ca = policies.device, policies.mdm, policies.ca
    joining = policies.join_groups()
    # The join scope and the MDM scope may both list groups: one membership query for both.
    member_of = member_groups(graph, joining + policies.mdm_groups())
    package = found_package_user(graph, package_user) if package_user else None
    package_id = package.get("id") if isinstance(package, dict) else None
    package_rules = (
        package_user_rules(graph, package_user, package, policies) if package_user else {}
    )
    # Before the token: the selected groups' rules say whether package users get in.
    joining_info = {} if package_id else {gid: _group(graph, gid) for gid in dict.fromkeys(joining)}
    tenant = upn.rsplit("@", 1)[-1] if "@" in upn else "organizations"

    def apps(app_id: str) -> list[dict]:
        query = {
            "$filter": f"appId eq '{app_id}'",
            "$select": "id,appId,displayName,accountEnabled",
        }
        return graph.get_all("/servicePrincipals", params=query)

    rules: dict[str, Callable[[], Check]] = {
        LICENSE: lambda: license_check(graph.get_all("/subscribedSkus")),
        JOIN: lambda: join_check(answered(policy), user_id=me.get("id", ""), member_of=member_of),
        FEDERATION: lambda: federation_check(
            graph.get_all("/domains", params={"$select": "id,authenticationType,isInitial"}), upn
        ),
        WCD_APP: lambda: wcd_app_check(
            apps(WCD_APP_ID), consent_url=admin_consent_url(login_base, tenant)
        ),
        QUOTA: lambda: quota_check(answered(policy)),
        SYNC_FABRIC: lambda: sync_fabric_check(apps(SYNC_FABRIC_APP_ID)),
        PACKAGE_JOIN: package_rules.pop(PACKAGE_JOIN, None)
        or (lambda: package_join_check(answered(policy), joining_info)),
        CONDITIONAL_ACCESS: lambda: read_conditional_access(graph, package_id, answered(ca)),
        MDM_SCOPE: lambda: mdm_scope_check(answered(mdm), member_of=member_of),
        PLATFORM: lambda: platform_restriction_check(
            graph.get_all("/deviceManagement/deviceEnrollmentConfigurations", version="beta")
        ),
        **package_rules,
    }
    names = CHECK_NAMES + tuple(package_rules)  # PACKAGE_CHECK_NAMES, as far as reached
    return run_checks(graph, {name: rules[name] for name in names}, emit)


def _group(graph: GraphClient, group_id: str) -> dict | None:
    try:
        return graph.get(
            f"/groups/{group_id}", params={"$select": "id,displayName,membershipRule,groupTypes"}
        )
    except GraphError as error:
        return {"id": group_id} if error.not_found else None  # a deleted group lets nobody in
