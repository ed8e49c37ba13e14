"""The project's package user, once its bulk token exists: finding it, and the checks on it that
``check --project`` (tui.entra.readiness) and the enrollment verification (tui.entra.enrollment)
both run: it exists and is enabled, may join devices, no Conditional Access policy stops it,
it is in Intune's MDM user scope. The rules are pure (here, tenantrules, conditional_access).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from tui.entra.checks import NEEDS, Check, Status, answered, not_checked, read_or_error
from tui.entra.conditional_access import PACKAGE_CA, package_user_ca_check, policy_groups
from tui.entra.graph import GraphClient, GraphError
from tui.entra.readiness_rules import join_groups, mdm_groups
from tui.entra.tenantrules import PACKAGE_JOIN, PACKAGE_MDM, package_join_check, package_mdm_check
from tui.errors import UserError
from tui.project.model import Project

PACKAGE_USER = "Package user"
NEEDS[PACKAGE_USER] = "User.Read.All, e.g. the Global Reader role"
# In this order; check --project shows PACKAGE_JOIN among the tenant's own checks.
PACKAGE_USER_CHECKS = (PACKAGE_USER, PACKAGE_JOIN, PACKAGE_CA, PACKAGE_MDM)
NEW_PACKAGE = "Get a new bulk token, build a new package and write it to the sticks again."


def package_user_of(project: Project) -> tuple[str, str]:
    """(UPN, package id) of the project's package user; the UPN may be unknown (empty)."""
    upn = project.entra.package_user.strip()
    pid = project.entra.token_package_id.strip().strip("{}").lower()
    if not upn and not pid:
        raise UserError(
            "Project: no package user is known (entra.package_user and entra.token_package_id "
            "are empty); get the bulk token first."
        )
    return upn, pid


def shown_upn(package_user: tuple[str, str], user: dict | GraphError | None = None) -> str:
    """The UPN to name the package user by: Graph's, else the project's, else its prefix."""
    found = user.get("userPrincipalName") if isinstance(user, dict) else None
    return found or package_user[0] or f"package_{package_user[1]}@…"


def user_check(upn: str, user: dict | None) -> Check:
    """The package user must still exist and be enabled: deleting it revokes the token."""
    if user is None:
        return Check(
            PACKAGE_USER,
            Status.FAIL,
            f"The package user {upn} does not exist any more: it was deleted, which revoked the "
            "bulk token, so the package can no longer join devices.",
            NEW_PACKAGE,
        )
    if user.get("accountEnabled") is False:
        return Check(
            PACKAGE_USER,
            Status.FAIL,
            f"The package user {upn} is disabled: devices cannot join with this package.",
            "Enable the user again in Entra ID > Users, or build a new package.",
        )
    return Check(PACKAGE_USER, Status.PASS, f"The package user {upn} exists.")


# --- the calls -------------------------------------------------------------------------------


def find_user(graph: GraphClient, upn: str, pid: str) -> dict | None:
    """By UPN, else by the package id: the user lives on the tenant's default domain, which
    may differ from the domain the UPN was guessed from."""
    select = {"$select": "id,userPrincipalName,displayName,accountEnabled,createdDateTime"}
    if upn:
        try:
            return graph.get(f"/users/{quote(upn, safe='@')}", params=select)
        except GraphError as error:
            if not error.not_found:
                raise
        if not pid:
            return None
    found = graph.get_all(
        "/users", params={"$filter": f"startswith(userPrincipalName,'package_{pid}')", **select}
    )
    return found[0] if found else None


def found_package_user(
    graph: GraphClient, package_user: tuple[str, str]
) -> dict | GraphError | None:
    """The package user's directory object, None when it does not exist, or Graph's refusal."""
    return read_or_error(lambda: find_user(graph, *package_user))  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Policies:
    """The tenant's policies the package-user checks read; each is Graph's answer or refusal."""

    device: dict | GraphError
    mdm: list | GraphError
    ca: list | GraphError

    def join_groups(self) -> list[str]:
        return join_groups(self.device) if isinstance(self.device, dict) else []

    def mdm_groups(self) -> list[str]:
        return mdm_groups(self.mdm) if isinstance(self.mdm, list) else []


def read_policies(graph: GraphClient) -> Policies:
    return Policies(
        device=read_or_error(lambda: graph.get("/policies/deviceRegistrationPolicy")),
        mdm=read_or_error(
            lambda: graph.get_all(
                "/policies/mobileDeviceManagementPolicies",
                version="beta",
                params={"$expand": "includedGroups"},
            )
        ),
        ca=read_or_error(lambda: graph.get_all("/identity/conditionalAccess/policies")),
    )


def member_groups(graph: GraphClient, group_ids: list[str], who: str = "/me") -> set[str] | None:
    """Which of these groups a user (``/me`` or ``/users/{id}``) is in, transitively; None if
    unreadable."""
    unique = list(dict.fromkeys(group_ids))
    found: set[str] = set()
    if not unique:
        return found
    try:
        for start in range(0, len(unique), 20):  # checkMemberGroups takes at most 20 ids
            answer = graph.post(
                f"{who}/checkMemberGroups", {"groupIds": unique[start : start + 20]}
            )
            found.update(answer.get("value") or [])
    except GraphError:
        return None
    return found


def package_user_rules(
    graph: GraphClient,
    package_user: tuple[str, str],
    user: dict | GraphError | None,
    policies: Policies | None = None,
) -> dict[str, Callable[[], Check]]:
    """The package-user checks to run, in ``PACKAGE_USER_CHECKS`` order; only "Package user"
    when it was not found or not readable. The policies are read here unless given, and the
    user's groups in one membership query for the join scope, the MDM scope and CA."""
    upn = shown_upn(package_user, user)
    if isinstance(user, GraphError):
        return {PACKAGE_USER: lambda: not_checked(PACKAGE_USER, user)}
    rules: dict[str, Callable[[], Check]] = {PACKAGE_USER: lambda: user_check(upn, user)}
    user_id = (user or {}).get("id")
    if not user_id:
        return rules
    if policies is None:
        policies = read_policies(graph)
    ca_ids = policy_groups(policies.ca) if isinstance(policies.ca, list) else []
    member_of = member_groups(
        graph, policies.join_groups() + policies.mdm_groups() + ca_ids, f"/users/{user_id}"
    )
    rules[PACKAGE_JOIN] = lambda: package_join_check(
        answered(policies.device), {}, package_user_id=user_id, member_of=member_of
    )
    rules[PACKAGE_CA] = lambda: package_user_ca_check(
        answered(policies.ca), upn=upn, user_id=user_id, member_of=member_of
    )
    rules[PACKAGE_MDM] = lambda: package_mdm_check(
        answered(policies.mdm), upn=upn, member_of=member_of
    )
    return rules
