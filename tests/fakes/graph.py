"""A fake of the Microsoft Graph endpoints the readiness check and the verification read.

It adds routes to the fake identity server (same host, same throw-away CA), so the real
msal device-code sign-in hands out the token the Graph routes then demand. A scripted
``FakeTenant`` holds what Graph answers; tests change it to make a tenant miss a condition,
refuse a call (403), page a collection or throttle (429 with Retry-After).

Start it from a test::

    with fake_graph(tmp_path, ready_tenant()) as graph:
        config = graph.sign_in_config()          # authority on the fake, CA trusted
        run_readiness(config, graph_url=graph.graph_url, ...)

(the caller must also point REQUESTS_CA_BUNDLE at ``graph.ca_bundle``, see bulk-token.md).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from fakes.identity import FakeIdentityServer, Reply, Request, trusted_identity_server

SYNC_FABRIC_APP_ID = "00000014-0000-0000-c000-000000000000"
INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
PACKAGE_PID = "6f1e2a4c-8b0d-4c3e-9f57-0a1b2c3d4e5f"
PACKAGE_GROUP = "11111111-2222-4333-8444-555555555555"
MDM_GROUP = "66666666-7777-4888-9999-000000000000"
OTHER_GROUP = "abababab-abab-4bab-abab-abababababab"
STAFF_GROUP = "cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd"
WCD_APP_ID = "de0853a1-ab20-47bd-990b-71ad5077ac7b"

FORBIDDEN = {
    "error": {
        "code": "Authorization_RequestDenied",
        "message": "Insufficient privileges to complete the operation.",
    }
}


def admin_id(username: str) -> str:
    """The object id the fake identity server puts in the signed-in admin's tokens."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, username))


def _sku(part: str, plans: list[str], status: str = "Enabled") -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, part)),
        "skuPartNumber": part,
        "capabilityStatus": status,
        "appliesTo": "User",
        "servicePlans": [
            {
                "servicePlanName": name,
                "servicePlanId": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for name in plans
        ],
    }


def _mfa_policy(name: str, *, exclude_groups: list[str], **applications: Any) -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
        "displayName": name,
        "state": "enabled",
        "conditions": {
            "users": {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": exclude_groups,
            },
            "applications": {
                "includeApplications": applications.get("include", ["All"]),
                "excludeApplications": [],
                "includeUserActions": applications.get("actions", []),
            },
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def fake_device(
    name: str,
    days_ago: int,
    *,
    managed: bool = True,
    compliant: bool | None = True,
    trust: str = "AzureAd",
) -> dict:
    registered = datetime(2026, 11, 30, 8, 0, tzinfo=UTC) - timedelta(days=days_ago)
    return {
        "@odata.type": "#microsoft.graph.device",
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
        "deviceId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "displayName": name,
        "trustType": trust,
        "operatingSystem": "Windows",
        "operatingSystemVersion": "10.0.26100.2314",
        "registrationDateTime": registered.isoformat().replace("+00:00", "Z"),
        "isManaged": managed,
        "isCompliant": compliant,
        "mdmAppId": INTUNE_APP_ID if managed else None,
        "accountEnabled": True,
    }


@dataclass
class FakeTenant:
    """What the fake Graph answers. Mutate it freely; every request reads it afresh."""

    domain: str = "contoso.example"
    skus: list[dict] = field(default_factory=list)
    device_policy: dict = field(default_factory=dict)
    service_principals: list[dict] = field(default_factory=list)
    ca_policies: list[dict] = field(default_factory=list)
    groups: dict[str, dict] = field(default_factory=dict)
    mdm_policies: list[dict] = field(default_factory=list)
    admin_groups: set[str] = field(default_factory=set)  # groups the signed-in admin is in
    users: dict[str, dict] = field(default_factory=dict)  # by UPN
    devices: dict[str, list[dict]] = field(default_factory=dict)  # by user id
    user_groups: dict[str, set[str]] = field(default_factory=dict)  # by user id, transitive
    domains: list[dict] = field(default_factory=list)
    enrollment_configs: list[dict] = field(default_factory=list)  # Intune, beta
    deleted: list[str] = field(default_factory=list)  # user ids DELETE removed, in order
    # Route names (see ROUTES) answering 403, and how many 429s a route gives first.
    forbidden: set[str] = field(default_factory=set)
    throttle: dict[str, int] = field(default_factory=dict)
    retry_after: str = "0"
    page_size: int = 100

    @property
    def package_upn(self) -> str:
        return f"package_{PACKAGE_PID}@{self.domain}"


def ready_tenant() -> FakeTenant:
    """A tenant where everything the procedure needs is in place, with two joined devices."""
    tenant = FakeTenant()
    tenant.skus = [
        _sku("O365_BUSINESS_ESSENTIALS", ["EXCHANGE_S_STANDARD", "TEAMS1"]),
        _sku("SPE_E3", ["EXCHANGE_S_ENTERPRISE", "AAD_PREMIUM", "INTUNE_A"]),
    ]
    tenant.device_policy = {
        "id": "deviceRegistrationPolicy",
        "userDeviceQuota": 50,
        "azureADJoin": {
            "isAdminConfigurable": True,
            "allowedToJoin": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"},
        },
    }
    tenant.service_principals = [
        {
            "id": str(uuid.uuid4()),
            "appId": SYNC_FABRIC_APP_ID,
            "displayName": "Microsoft.Azure.SyncFabric",
            "accountEnabled": True,
        },
        {
            "id": str(uuid.uuid4()),
            "appId": str(uuid.uuid4()),
            "displayName": "Other app",
            "accountEnabled": True,
        },
        {
            "id": str(uuid.uuid4()),
            "appId": WCD_APP_ID,
            "displayName": "Windows Configuration Designer (WCD)",
            "accountEnabled": True,
        },
    ]
    tenant.domains = [
        {"id": tenant.domain, "authenticationType": "Managed", "isDefault": True},
        {"id": "contoso.onmicrosoft.example", "authenticationType": "Managed", "isInitial": True},
    ]
    tenant.enrollment_configs = [
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
            "id": "x_DefaultLimit",
            "priority": 0,
            "limit": 15,
        },
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
            "id": "5b0e1dba-4523-455e-9fdd-e36c833b57bf_DefaultPlatformRestrictions",
            "displayName": "All users and all devices",
            "priority": 0,
            "windowsRestriction": {
                "platformBlocked": False,
                "personalDeviceEnrollmentBlocked": False,
                "osMinimumVersion": None,
                "osMaximumVersion": None,
            },
            "iosRestriction": {"platformBlocked": True, "personalDeviceEnrollmentBlocked": True},
        },
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
            "id": "ffff_PlatformRestrictions",
            "displayName": "Block Windows for guests",
            "priority": 1,
            "windowsRestriction": {"platformBlocked": True},
        },
    ]
    tenant.groups = {
        PACKAGE_GROUP: {
            "id": PACKAGE_GROUP,
            "displayName": "Bulk enrollment package users",
            "groupTypes": ["DynamicMembership"],
            "membershipRule": '(user.userPrincipalName -startsWith "package_")',
        },
        MDM_GROUP: {"id": MDM_GROUP, "displayName": "MDM users", "groupTypes": []},
        OTHER_GROUP: {"id": OTHER_GROUP, "displayName": "Helpdesk", "groupTypes": []},
    }
    tenant.ca_policies = [
        _mfa_policy("Require MFA for all users", exclude_groups=[PACKAGE_GROUP]),
        {**_mfa_policy("Old MFA policy", exclude_groups=[]), "state": "disabled"},
    ]
    tenant.mdm_policies = [
        {
            "id": INTUNE_APP_ID,
            "displayName": "Microsoft Intune",
            "appliesTo": "selected",
            "includedGroups": [{"id": MDM_GROUP, "displayName": "MDM users"}],
        }
    ]
    tenant.admin_groups = {MDM_GROUP}
    package_id = str(uuid.uuid5(uuid.NAMESPACE_OID, tenant.package_upn))
    tenant.users = {
        tenant.package_upn: {
            "id": package_id,
            "userPrincipalName": tenant.package_upn,
            "displayName": f"package_{PACKAGE_PID}",
            "accountEnabled": True,
            "createdDateTime": "2026-11-01T09:00:00Z",
        }
    }
    tenant.devices = {package_id: [fake_device("PC-0001", 3), fake_device("PC-0002", 1)]}
    tenant.user_groups = {package_id: {PACKAGE_GROUP, MDM_GROUP}}
    return tenant


def package_user_id(tenant: FakeTenant) -> str:
    return tenant.users[tenant.package_upn]["id"]


# --- tenants that miss one condition each: (change, check name, expected status) -----------


def _no_premium(t: FakeTenant) -> None:
    t.skus = [_sku("O365_BUSINESS_ESSENTIALS", ["EXCHANGE_S_STANDARD"])]


def _join_nobody(t: FakeTenant) -> None:
    t.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"
    }


def _join_selected_elsewhere(t: FakeTenant) -> None:
    """Package users may join (their dynamic group is selected); the signed-in admin may not."""
    t.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
        "users": [str(uuid.uuid4())],
        "groups": [OTHER_GROUP, PACKAGE_GROUP],
    }


def _join_selected_without_package_users(t: FakeTenant) -> None:
    """The admin may join; no selected group catches package_* users."""
    t.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
        "users": [admin_id(f"admin@{t.domain}")],
        "groups": [OTHER_GROUP],
    }


def _platform_blocked(t: FakeTenant) -> None:
    t.enrollment_configs[1]["windowsRestriction"]["platformBlocked"] = True


def _federated(t: FakeTenant) -> None:
    t.domains[0]["authenticationType"] = "Federated"


def _no_wcd_app(t: FakeTenant) -> None:
    t.service_principals = [sp for sp in t.service_principals if sp["appId"] != WCD_APP_ID]


def _low_quota(t: FakeTenant) -> None:
    t.device_policy["userDeviceQuota"] = 10


def _no_sync_fabric(t: FakeTenant) -> None:
    t.service_principals = [sp for sp in t.service_principals if sp["appId"] != SYNC_FABRIC_APP_ID]


def _mfa_catches_package_users(t: FakeTenant) -> None:
    t.ca_policies.append(
        _mfa_policy(
            "MFA to register devices", exclude_groups=[], actions=["urn:user:registerdevice"]
        )
    )


def _mdm_scope_none(t: FakeTenant) -> None:
    t.mdm_policies[0]["appliesTo"] = "none"


def _mdm_scope_elsewhere(t: FakeTenant) -> None:
    t.admin_groups = set()


MISSING = {
    "no-premium": (_no_premium, "Entra ID P1/P2", "fail"),
    "join-nobody": (_join_nobody, "Users may join devices", "fail"),
    "join-selected-elsewhere": (_join_selected_elsewhere, "Users may join devices", "fail"),
    "low-quota": (_low_quota, "Devices per user", "warn"),
    "no-sync-fabric": (_no_sync_fabric, "SyncFabric service principal", "fail"),
    "mfa-catches-package-users": (_mfa_catches_package_users, "Conditional Access and MFA", "warn"),
    "mdm-scope-none": (_mdm_scope_none, "MDM user scope", "fail"),
    "mdm-scope-elsewhere": (_mdm_scope_elsewhere, "MDM user scope", "fail"),
    "platform-blocked": (_platform_blocked, "Windows enrollment restriction", "fail"),
    "join-selected-without-package-users": (
        _join_selected_without_package_users,
        "Package users may join devices",
        "fail",
    ),
    "federated-account": (_federated, "Cloud-only sign-in account", "fail"),
    "wcd-app-not-consented": (_no_wcd_app, "Windows Configuration Designer app", "warn"),
}
# Other checks a variant fails as well (nobody may join: package users neither).
# ... and, when the project's package user is checked too (check --project, the app):
ALSO_FOR_PACKAGE_USER = {
    "mdm-scope-none": {"Package user in MDM user scope": "fail"},
    "mfa-catches-package-users": {"Conditional Access on the package user": "fail"},
}
ALSO_MISSING = {
    "join-nobody": {"Package users may join devices": "fail"},
    # Outside its dynamic group, the package user is no longer excluded from MFA for all.
    "package-user-may-not-join": {"Conditional Access on the package user": "fail"},
}


# --- after the token: the package user itself (check --project) ---------------------------


def _package_user_deleted(t: FakeTenant) -> None:
    t.users.clear()


def _package_user_disabled(t: FakeTenant) -> None:
    t.users[t.package_upn]["accountEnabled"] = False


def _package_user_blocked_by_ca(t: FakeTenant) -> None:
    policy = _mfa_policy("Block unmanaged staff", exclude_groups=[], actions=[])
    policy["conditions"]["users"] = {"includeUsers": [], "includeGroups": [STAFF_GROUP]}
    policy["conditions"]["applications"]["includeApplications"] = [
        "d4ebce55-015a-49b5-a083-c84d1797ae8c"
    ]
    policy["grantControls"] = {"operator": "OR", "builtInControls": ["block"]}
    t.ca_policies.append(policy)
    t.user_groups[package_user_id(t)].add(STAFF_GROUP)


def _package_user_outside_mdm_scope(t: FakeTenant) -> None:
    t.user_groups[package_user_id(t)].discard(MDM_GROUP)


def _package_user_not_in_join_group(t: FakeTenant) -> None:
    """The dynamic package group is selected, but this user is not in it (yet)."""
    _join_selected_elsewhere(t)
    t.device_policy["azureADJoin"]["allowedToJoin"]["users"] = [admin_id(f"admin@{t.domain}")]
    t.user_groups[package_user_id(t)].discard(PACKAGE_GROUP)


PACKAGE_MISSING = {
    "package-user-deleted": (_package_user_deleted, "Package user", "fail"),
    "package-user-disabled": (_package_user_disabled, "Package user", "fail"),
    "package-user-blocked-by-ca": (
        _package_user_blocked_by_ca,
        "Conditional Access on the package user",
        "fail",
    ),
    "package-user-outside-mdm-scope": (
        _package_user_outside_mdm_scope,
        "Package user in MDM user scope",
        "fail",
    ),
    "package-user-may-not-join": (
        _package_user_not_in_join_group,
        "Package users may join devices",
        "fail",
    ),
}


def missing(name: str) -> FakeTenant:
    """The ready tenant with one condition missing (a key of ``MISSING`` or
    ``PACKAGE_MISSING``)."""
    tenant = ready_tenant()
    (MISSING | PACKAGE_MISSING)[name][0](tenant)
    return tenant


def reader_without_rights() -> FakeTenant:
    """An account with default user rights: policies and licences answer 403."""
    tenant = ready_tenant()
    tenant.forbidden = {
        "subscribedSkus",
        "deviceRegistrationPolicy",
        "conditionalAccess",
        "mdmPolicies",
        "checkMemberGroups",
        "domains",
        "enrollmentConfigurations",
        "userMemberGroups",
    }
    return tenant


def deleted_package_user() -> FakeTenant:
    tenant = ready_tenant()
    tenant.users.clear()
    return tenant


# --- the server side ---------------------------------------------------------------------


class FakeGraph:
    """Graph routes on a running ``FakeIdentityServer``; ``tenant`` may be swapped any time."""

    def __init__(self, identity: FakeIdentityServer, tenant: FakeTenant) -> None:
        self.identity = identity
        self.tenant = tenant
        self.requests: list[tuple[str, str]] = []  # (route name, path) served or refused
        v1, beta = r"/v1\.0", r"/beta"
        routes: list[tuple[str, str, str, Callable[[Request, dict], Reply]]] = [
            ("me", "GET", v1 + r"/me", self._me),
            ("checkMemberGroups", "POST", v1 + r"/me/checkMemberGroups", self._member_groups),
            ("subscribedSkus", "GET", v1 + r"/subscribedSkus", self._skus),
            (
                "deviceRegistrationPolicy",
                "GET",
                v1 + r"/policies/deviceRegistrationPolicy",
                self._device_policy,
            ),
            (
                "mdmPolicies",
                "GET",
                beta + r"/policies/mobileDeviceManagementPolicies",
                self._mdm_policies,
            ),
            ("servicePrincipals", "GET", v1 + r"/servicePrincipals", self._service_principals),
            (
                "conditionalAccess",
                "GET",
                v1 + r"/identity/conditionalAccess/policies",
                self._ca_policies,
            ),
            ("groups", "GET", v1 + r"/groups/(?P<id>[^/]+)", self._group),
            ("domains", "GET", v1 + r"/domains", self._domains),
            (
                "enrollmentConfigurations",
                "GET",
                beta + r"/deviceManagement/deviceEnrollmentConfigurations",
                self._enrollment_configs,
            ),
            (
                "userMemberGroups",
                "POST",
                v1 + r"/users/(?P<id>[^/]+)/checkMemberGroups",
                self._user_member_groups,
            ),
            ("deleteUser", "DELETE", v1 + r"/users/(?P<upn>[^/]+)", self._delete_user),
            ("users", "GET", v1 + r"/users", self._users),
            ("user", "GET", v1 + r"/users/(?P<upn>[^/]+)", self._user),
            ("ownedDevices", "GET", v1 + r"/users/(?P<id>[^/]+)/ownedDevices", self._devices),
            (
                "registeredDevices",
                "GET",
                v1 + r"/users/(?P<id>[^/]+)/registeredDevices",
                self._devices,
            ),
        ]
        for name, method, pattern, handler in routes:
            identity.route(method, pattern)(self._guard(name, pattern, handler))

    @property
    def graph_url(self) -> str:
        return self.identity.base_url

    @property
    def ca_bundle(self) -> Path:
        return self.identity.ca_bundle

    @property
    def authority(self) -> str:
        return self.identity.authority("organizations")

    def sign_in_config(self, **kwargs: Any):
        from tui.entra.graph import graph_sign_in_config

        return graph_sign_in_config(self.authority, ca_bundle=str(self.ca_bundle), **kwargs)

    def served(self, name: str) -> int:
        return sum(1 for route, _ in self.requests if route == name)

    def _guard(self, name: str, pattern: str, handler: Callable[[Request, dict], Reply]):
        import re

        compiled = re.compile(pattern)

        def serve(request: Request) -> Reply:
            self.requests.append((name, request.path))
            if request.bearer not in self.identity.access_tokens:
                return Reply.json(
                    {
                        "error": {
                            "code": "InvalidAuthenticationToken",
                            "message": "Access token is empty or invalid.",
                        }
                    },
                    401,
                )
            tenant = self.tenant
            if tenant.throttle.get(name, 0) > 0:
                tenant.throttle[name] -= 1
                reply = Reply.json(
                    {"error": {"code": "TooManyRequests", "message": "Too many requests."}}, 429
                )
                return Reply(429, reply.body, {**reply.headers, "Retry-After": tenant.retry_after})
            if name in tenant.forbidden:
                return Reply.json(FORBIDDEN, 403)
            match = compiled.fullmatch(request.path)
            return handler(request, match.groupdict() if match else {})

        return serve

    def _page(self, request: Request, items: list[dict]) -> Reply:
        start = int(request.query.get("$skiptoken", "0"))
        size = self.tenant.page_size
        body: dict[str, Any] = {"value": copy.deepcopy(items[start : start + size])}
        if start + size < len(items):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(start + size)
            body["@odata.nextLink"] = f"{self.graph_url}{request.path}?{urlencode(query)}"
        return Reply.json(body)

    def _me(self, request: Request, _: dict) -> Reply:
        username = self.identity.username
        return Reply.json({"id": admin_id(username), "userPrincipalName": username})

    def _member_groups(self, request: Request, _: dict) -> Reply:
        asked = (request.json or {}).get("groupIds") or []
        if len(asked) > 20:
            return Reply.json(
                {"error": {"code": "Request_BadRequest", "message": "At most 20 groups."}}, 400
            )
        return Reply.json({"value": [g for g in asked if g in self.tenant.admin_groups]})

    def _user_member_groups(self, request: Request, args: dict) -> Reply:
        asked = (request.json or {}).get("groupIds") or []
        if len(asked) > 20:
            return Reply.json(
                {"error": {"code": "Request_BadRequest", "message": "At most 20 groups."}}, 400
            )
        if not any(u["id"] == args["id"] for u in self.tenant.users.values()):
            return _not_found(args["id"])
        mine = self.tenant.user_groups.get(args["id"], set())
        return Reply.json({"value": [g for g in asked if g in mine]})

    def _domains(self, request: Request, _: dict) -> Reply:
        return self._page(request, self.tenant.domains)

    def _enrollment_configs(self, request: Request, _: dict) -> Reply:
        return self._page(request, self.tenant.enrollment_configs)

    def _delete_user(self, request: Request, args: dict) -> Reply:
        key = unquote(args["upn"]).lower()
        for upn, user in list(self.tenant.users.items()):
            if key in (upn.lower(), user["id"]):
                del self.tenant.users[upn]
                self.tenant.deleted.append(user["id"])
                return Reply(204)
        return _not_found(key)

    def _skus(self, request: Request, _: dict) -> Reply:
        return self._page(request, self.tenant.skus)

    def _device_policy(self, request: Request, _: dict) -> Reply:
        return Reply.json(copy.deepcopy(self.tenant.device_policy))

    def _mdm_policies(self, request: Request, _: dict) -> Reply:
        policies = copy.deepcopy(self.tenant.mdm_policies)
        if "includedGroups" not in request.query.get("$expand", ""):
            for policy in policies:
                policy.pop("includedGroups", None)
        return self._page(request, policies)

    def _service_principals(self, request: Request, _: dict) -> Reply:
        items = self.tenant.service_principals
        wanted = request.query.get("$filter", "")
        if wanted.startswith("appId eq "):
            app_id = wanted.removeprefix("appId eq ").strip("'")
            items = [sp for sp in items if sp["appId"] == app_id]
        return self._page(request, items)

    def _ca_policies(self, request: Request, _: dict) -> Reply:
        return self._page(request, self.tenant.ca_policies)

    def _group(self, request: Request, args: dict) -> Reply:
        group = self.tenant.groups.get(args["id"])
        if group is None:
            return _not_found(args["id"])
        return Reply.json(group)

    def _users(self, request: Request, _: dict) -> Reply:
        wanted = request.query.get("$filter", "")
        prefix = ""
        if wanted.startswith("startswith(userPrincipalName,'"):
            prefix = wanted.split("'")[1].lower()
        found = [u for upn, u in self.tenant.users.items() if upn.lower().startswith(prefix)]
        return self._page(request, found)

    def _user(self, request: Request, args: dict) -> Reply:
        key = unquote(args["upn"]).lower()
        for upn, user in self.tenant.users.items():
            if key in (upn.lower(), user["id"]):
                return Reply.json(user)
        return _not_found(key)

    def _devices(self, request: Request, args: dict) -> Reply:
        return self._page(request, self.tenant.devices.get(args["id"], []))


def _not_found(what: str) -> Reply:
    return Reply.json(
        {
            "error": {
                "code": "Request_ResourceNotFound",
                "message": f"Resource '{what}' does not exist or one of its queried "
                "reference-property objects are not present.",
            }
        },
        404,
    )


@contextmanager
def fake_graph(
    tmp_path: Path, tenant: FakeTenant | None = None, monkeypatch: Any = None
) -> Iterator[FakeGraph]:
    """A started fake identity server with the Graph routes; the admin signs in at once.

    With ``monkeypatch``, REQUESTS_CA_BUNDLE trusts the fake and proxy variables are cleared.
    """
    if monkeypatch is not None:
        server = trusted_identity_server(tmp_path, monkeypatch)
    else:
        server = FakeIdentityServer(tmp_path)
    with server as identity:
        identity.approve_after(0)
        yield FakeGraph(identity, tenant or ready_tenant())


def project_for(tenant: FakeTenant, *, expires: date, folder: str = "") -> Any:
    """A project whose bulk token made this tenant's package user."""
    from tui.project.model import Project

    project = Project(folder=folder)
    project.package.name = "Fleet"
    project.entra.package_user = tenant.package_upn
    project.entra.token_package_id = PACKAGE_PID
    project.entra.expires = expires
    project.entra.bprt = "fake-bprt-not-a-secret-here"
    return project
