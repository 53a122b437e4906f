"""Every role x every route: the expected allow or deny, and no route without a rule.

`ROUTES` below must name every route of the app (API and pages) with its
access rule. A route added without an entry fails
`test_every_route_has_an_access_rule`; add it here with the rule the policy
module (lightning_flows/accounts/policy.py) should enforce, and a request that
succeeds for an allowed caller.

Roles: anonymous, outsider (signed in, not a member), the four project roles,
and superuser. "Allowed" means the answer is none of 401/403/404/500; a denial
must be exactly the rule's status (401 anonymous, 404 hiding a project or an
item from non-members, 403 for a member whose role is too low).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import ApiToken, AuthProvider, User, UserSession
from lightning_flows.accounts.passwords import hash_password
from lightning_flows.accounts.service import hash_token
from lightning_flows.api.web import session_cookie_name
from lightning_flows.collections.models import CollectionItem
from lightning_flows.core.db import get_engine
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.models import WebhookAuthMethod
from lightning_flows.models import metadata
from lightning_flows.projects.models import ProjectUser
from lightning_flows.projects.spec_models import Collection
from lightning_flows.templates.models import WorkflowTemplate
from lightning_flows.templates.service import builtin_templates
from lightning_flows.testing.models import WorkflowTestCase
from lightning_flows.workflows.models import WorkflowVersion
from tests import factories
from tests.support.web import csrf_token

ROLES = ("anonymous", "outsider", "viewer", "editor", "admin", "owner", "superuser")
MEMBER_ROLES = ("viewer", "editor", "admin", "owner")
ALL = frozenset(MEMBER_ROLES)
WRITERS = frozenset({"editor", "admin", "owner"})
ADMINS = frozenset({"admin", "owner"})
OWNER = frozenset({"owner"})
_HASH = hash_password(factories.PASSWORD)
_TEMPLATE_SPEC = builtin_templates()[-1].spec


# --- rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What each role should get; `None` means allowed."""

    name: str
    outcome: Callable[[str], int | None]


PUBLIC = Rule("public", lambda role: None)
SIGNED_IN = Rule("signed in", lambda role: 401 if role == "anonymous" else None)
SUPERUSER = Rule(
    "superuser",
    lambda role: 401 if role == "anonymous" else None if role == "superuser" else 403,
)


def project(roles: frozenset[str]) -> Rule:
    def outcome(role: str) -> int | None:
        if role == "anonymous":
            return 401
        if role in ("superuser", *roles):
            return None
        return 404 if role == "outsider" else 403

    return Rule(f"project:{'/'.join(sorted(roles))}", outcome)


def owned(*, superuser: bool) -> Rule:
    """An item the `editor` user owns (credential, token): others do not see it."""

    def outcome(role: str) -> int | None:
        if role == "anonymous":
            return 401
        return None if role == "editor" or (superuser and role == "superuser") else 404

    return Rule("owner of the item", outcome)


SELF_OR_SUPERUSER = Rule(
    "self or superuser",
    lambda role: 401 if role == "anonymous" else None if role in ("editor", "superuser") else 403,
)


# --- the world each request runs in --------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    spare_email: str = ""


def _user(session: Session, label: str, superuser: bool = False) -> User:
    user = User(
        email=f"{label}-{uuid.uuid4().hex[:6]}@example.org",
        hashed_password=_HASH,
        is_superuser=superuser,
    )
    session.add(user)
    return user


def build_world(session: Session) -> World:
    """One project with a member of each role, a workflow, a run, a credential owned by
    the editor, a webhook auth method, an SSO provider, and a token and a browser
    session for everyone (written directly: the matrix builds hundreds of worlds)."""
    users = {role: _user(session, role, role == "superuser") for role in ROLES[1:]}
    world = World(users=users, spare_email=_user(session, "spare").email)
    session.flush()
    for role, user in users.items():
        world.tokens[role], world.cookies[role] = f"lfp_{uuid.uuid4().hex}", uuid.uuid4().hex
        token = ApiToken(user_id=user.id, name="matrix", token_hash=hash_token(world.tokens[role]))
        session.add(token)
        session.add(
            UserSession(
                user_id=user.id,
                token_hash=hash_token(world.cookies[role]),
                mfa_verified=True,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        world.token_ids[role] = token.id
    session.commit()
    project_row = factories.make_project(session, owner=users["owner"])
    for role in ("viewer", "editor", "admin"):
        session.add(ProjectUser(project_id=project_row.id, user_id=users[role].id, role=role))
    session.commit()
    workflow = factories.make_workflow(session, project_row, jobs=["a"])
    enqueued = factories.make_run(session, workflow)
    credential = factories.make_owned_credential(
        session, users["editor"], {"password": "x"}, projects=(project_row,)
    )
    method = WebhookAuthMethod(project_id=project_row.id, name="m", auth_type="api", api_key="k")
    provider = AuthProvider(
        name="idp", discovery_url="http://127.0.0.1:9/x", client_id="c", client_secret="s"
    )
    session.add_all([method, provider])
    session.commit()
    collection = Collection(project_id=project_row.id, name="matrix")
    session.add(collection)
    session.flush()
    session.add(CollectionItem(collection_id=collection.id, key="k", value="1"))
    template = WorkflowTemplate(project_id=project_row.id, name="matrix", spec=_TEMPLATE_SPEC)
    case = WorkflowTestCase(workflow_id=workflow.id, name="matrix", assertion="true")
    session.add_all([template, case])
    session.commit()
    version = session.exec(
        select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
    ).first()
    world.ids.update(
        project_id=project_row.id,
        workflow_id=workflow.id,
        trigger_id=workflow.triggers[0].id,
        job_id=workflow.jobs[0].id,
        run_id=enqueued.run.id,
        dataclip_id=enqueued.run.dataclip_id,
        credential_id=credential.id,
        method_id=method.id,
        provider_id=provider.id,
        version_id=version.id,
        template_id=template.id,
        case_id=case.id,
        viewer_id=users["viewer"].id,
        editor_id=users["editor"].id,
    )
    return world


# --- the table -----------------------------------------------------------------------

Body = Callable[[World, str], Any]


@dataclass(frozen=True)
class Case:
    rule: Rule
    json: Body | None = None
    form: Body | None = None
    query: Body | None = None
    page: bool = False  # a browser page: signed in by the session cookie, not a token
    allowed_404: str | None = None  # an allowed caller's 404 with this detail is a domain answer
    path: Callable[[World, str], dict[str, Any]] | None = None


def _ids(*names: str) -> Callable[[World, str], dict[str, Any]]:
    return lambda w, _role: {n: w.ids[n] for n in names}


P = _ids("project_id")
PW = _ids("project_id", "workflow_id")
PWV = _ids("project_id", "workflow_id", "version_id")
CRED = _ids("credential_id")
C: Callable[[World, str], dict[str, Any]] = lambda w, r: {"name": "matrix"}  # noqa: E731
CK: Callable[[World, str], dict[str, Any]] = lambda w, r: {"name": "matrix", "key": "k"}  # noqa: E731
PC: Callable[[World, str], dict[str, Any]] = lambda w, r: {  # noqa: E731
    "project_id": w.ids["project_id"],
    "name": "matrix",
}
PROVIDER = _ids("provider_id")
OWN_TOKEN: Callable[[World, str], dict[str, Any]] = lambda w, role: {  # noqa: E731
    "token_id": w.token_ids.get(role, uuid.uuid4())
}
EDITOR_TOKEN: Callable[[World, str], dict[str, Any]] = lambda w, _r: {  # noqa: E731
    "token_id": w.token_ids["editor"]
}


def _workflow_doc(_w: World, _role: str) -> Any:
    return factories.workflow_doc(jobs=["x"]).model_dump(mode="json")


def _login(w: World, role: str) -> dict[str, str]:
    user = w.users.get(role, w.users["viewer"])
    return {"email": user.email, "password": factories.PASSWORD}


ROUTES: dict[tuple[str, str], Case] = {
    # documentation and health; the guide (ui_extension/guide.py) is public
    ("GET", "/help"): Case(PUBLIC),
    ("GET", "/help/{name}"): Case(PUBLIC, path=lambda w, r: {"name": "build"}),
    ("GET", "/help/ref/{name}"): Case(PUBLIC, path=lambda w, r: {"name": "projects-as-code"}),
    ("GET", "/help/images/{file_name}"): Case(PUBLIC, path=lambda w, r: {"file_name": "run.png"}),
    ("GET", "/openapi.json"): Case(PUBLIC),
    ("GET", "/docs"): Case(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Case(PUBLIC),
    ("GET", "/redoc"): Case(PUBLIC),
    ("GET", "/health"): Case(PUBLIC),
    # webhooks: public by design, guarded by the trigger's own auth methods
    ("POST", "/i/{key}"): Case(
        PUBLIC, json=lambda w, r: {"a": 1}, path=lambda w, r: {"key": w.ids["trigger_id"]}
    ),
    ("GET", "/i/{key}"): Case(PUBLIC, path=lambda w, r: {"key": w.ids["trigger_id"]}),
    ("OPTIONS", "/i/{key}"): Case(PUBLIC, path=lambda w, r: {"key": w.ids["trigger_id"]}),
    # projects and members
    ("GET", "/api/projects"): Case(SIGNED_IN),
    ("POST", "/api/projects"): Case(SIGNED_IN, json=lambda w, r: {"name": "new"}),
    ("GET", "/api/projects/{project_id}"): Case(project(ALL), path=P),
    ("PATCH", "/api/projects/{project_id}"): Case(
        project(ADMINS), json=lambda w, r: {"description": "d"}, path=P
    ),
    ("DELETE", "/api/projects/{project_id}"): Case(project(OWNER), path=P),
    ("GET", "/api/projects/{project_id}/users"): Case(project(ALL), path=P),
    ("POST", "/api/projects/{project_id}/users"): Case(
        project(ADMINS), json=lambda w, r: {"email": w.spare_email, "role": "viewer"}, path=P
    ),
    ("PATCH", "/api/projects/{project_id}/users/{user_id}"): Case(
        project(ADMINS),
        json=lambda w, r: {"role": "editor"},
        path=lambda w, r: {"project_id": w.ids["project_id"], "user_id": w.ids["viewer_id"]},
    ),
    ("DELETE", "/api/projects/{project_id}/users/{user_id}"): Case(
        project(ADMINS),
        path=lambda w, r: {"project_id": w.ids["project_id"], "user_id": w.ids["viewer_id"]},
    ),
    ("POST", "/api/projects/{project_id}/owner"): Case(
        project(OWNER), json=lambda w, r: {"user_id": str(w.ids["editor_id"])}, path=P
    ),
    # notification preferences are a member's own: a superuser who is not a member has none
    ("GET", "/api/projects/{project_id}/notifications"): Case(
        project(ALL), path=P, allowed_404="not a member"
    ),
    ("PUT", "/api/projects/{project_id}/notifications"): Case(
        project(ALL),
        json=lambda w, r: {"workflow_change_alert": False},
        path=P,
        allowed_404="not a member",
    ),
    ("GET", "/api/projects/{project_id}/alerts"): Case(
        project(ALL), path=P, allowed_404="not a member"
    ),
    ("PUT", "/api/projects/{project_id}/alerts"): Case(
        project(ALL), json=lambda w, r: {"digest": "daily"}, path=P, allowed_404="not a member"
    ),
    # the project's alert webhook: members see whether there is one, admins set it
    ("GET", "/api/projects/{project_id}/alert_webhook"): Case(project(ALL), path=P),
    ("PUT", "/api/projects/{project_id}/alert_webhook"): Case(
        project(ADMINS), json=lambda w, r: {"url": "https://chat.example.org/hook"}, path=P
    ),
    ("DELETE", "/api/projects/{project_id}/alert_webhook"): Case(project(ADMINS), path=P),
    # workflows, versions, runs and history
    ("GET", "/api/projects/{project_id}/workflows"): Case(project(ALL), path=P),
    ("POST", "/api/projects/{project_id}/workflows"): Case(
        project(WRITERS), json=_workflow_doc, path=P
    ),
    ("GET", "/api/projects/{project_id}/workflows/{workflow_id}"): Case(project(ALL), path=PW),
    ("PUT", "/api/projects/{project_id}/workflows/{workflow_id}"): Case(
        project(WRITERS), json=_workflow_doc, path=PW
    ),
    ("DELETE", "/api/projects/{project_id}/workflows/{workflow_id}"): Case(
        project(WRITERS), path=PW
    ),
    ("GET", "/api/projects/{project_id}/workflows/{workflow_id}/versions"): Case(
        project(ALL), path=PW
    ),
    ("GET", "/api/projects/{project_id}/workflows/{workflow_id}/versions/diff"): Case(
        project(ALL), query=lambda w, r: {"from": str(w.ids["version_id"])}, path=PW
    ),
    ("GET", "/api/projects/{project_id}/workflows/{workflow_id}/versions/{version_id}"): Case(
        project(ALL), path=PWV
    ),
    (
        "POST",
        "/api/projects/{project_id}/workflows/{workflow_id}/versions/{version_id}/restore",
    ): Case(project(WRITERS), path=PWV),
    ("POST", "/api/workflows/{workflow_id}/runs"): Case(
        project(WRITERS), json=lambda w, r: {"body": {"data": {}}}, path=_ids("workflow_id")
    ),
    ("POST", "/api/runs/{run_id}/retry"): Case(
        project(WRITERS),
        json=lambda w, r: {"step_id": str(w.ids["job_id"])},
        path=_ids("run_id"),
        allowed_404="not part of this run",  # the world's run has not executed a step
    ),
    ("GET", "/api/runs/{run_id}"): Case(project(ALL), path=_ids("run_id")),
    ("GET", "/api/runs/{run_id}/log_lines"): Case(project(ALL), path=_ids("run_id")),
    ("GET", "/api/dataclips/{dataclip_id}"): Case(project(ALL), path=_ids("dataclip_id")),
    # named dataclips (test inputs) and test cases: members read, writers keep and run
    ("PATCH", "/api/dataclips/{dataclip_id}"): Case(
        project(WRITERS), json=lambda w, r: {"name": f"kept by {r}"}, path=_ids("dataclip_id")
    ),
    ("GET", "/api/projects/{project_id}/dataclips"): Case(project(ALL), path=P),
    ("POST", "/api/workflows/{workflow_id}/jobs/{job_id}/run"): Case(
        project(WRITERS),
        json=lambda w, r: {"body": {"data": {}}},
        path=_ids("workflow_id", "job_id"),
    ),
    ("GET", "/api/workflows/{workflow_id}/test_cases"): Case(
        project(ALL), path=_ids("workflow_id")
    ),
    ("POST", "/api/workflows/{workflow_id}/test_cases"): Case(
        project(WRITERS),
        json=lambda w, r: {
            "name": f"case of {r}",
            "assertion": "true",
            "input_dataclip_id": str(w.ids["dataclip_id"]),
        },
        path=_ids("workflow_id"),
    ),
    ("GET", "/api/workflows/{workflow_id}/test_cases/{case_id}"): Case(
        project(ALL), path=_ids("workflow_id", "case_id")
    ),
    ("PUT", "/api/workflows/{workflow_id}/test_cases/{case_id}"): Case(
        project(WRITERS),
        json=lambda w, r: {
            "name": "matrix",
            "assertion": "true",
            "input_dataclip_id": str(w.ids["dataclip_id"]),
        },
        path=_ids("workflow_id", "case_id"),
    ),
    ("DELETE", "/api/workflows/{workflow_id}/test_cases/{case_id}"): Case(
        project(WRITERS), path=_ids("workflow_id", "case_id")
    ),
    ("POST", "/api/workflows/{workflow_id}/test_cases/run"): Case(
        project(WRITERS), path=_ids("workflow_id")
    ),
    ("POST", "/api/projects/{project_id}/test_cases/run"): Case(project(WRITERS), path=P),
    ("GET", "/api/projects/{project_id}/work_orders"): Case(project(ALL), path=P),
    ("GET", "/api/projects/{project_id}/work_orders/export"): Case(project(ALL), path=P),
    ("POST", "/api/projects/{project_id}/work_orders/retry"): Case(
        project(WRITERS), json=lambda w, r: {"filter": {"status": ["failed"]}}, path=P
    ),
    ("GET", "/api/projects/{project_id}/retry_batches/{batch_id}"): Case(
        project(ALL),
        path=lambda w, r: {"project_id": w.ids["project_id"], "batch_id": uuid.uuid4()},
        allowed_404="Retry batch not found",
    ),
    # webhook auth methods
    ("GET", "/api/projects/{project_id}/webhook_auth_methods"): Case(project(ALL), path=P),
    ("POST", "/api/projects/{project_id}/webhook_auth_methods"): Case(
        project(ADMINS),
        json=lambda w, r: {"name": "new", "auth_type": "api", "api_key": "k" * 20},
        path=P,
    ),
    ("PATCH", "/api/projects/{project_id}/webhook_auth_methods/{method_id}"): Case(
        project(ADMINS), json=lambda w, r: {"name": "renamed"}, path=_ids("project_id", "method_id")
    ),
    ("DELETE", "/api/projects/{project_id}/webhook_auth_methods/{method_id}"): Case(
        project(ADMINS), path=_ids("project_id", "method_id")
    ),
    ("PUT", "/api/projects/{project_id}/triggers/{trigger_id}/webhook_auth_methods"): Case(
        project(ADMINS),
        json=lambda w, r: {"webhook_auth_method_ids": [str(w.ids["method_id"])]},
        path=_ids("project_id", "trigger_id"),
    ),
    # projects as code
    ("POST", "/api/provision"): Case(
        project(ADMINS),
        json=lambda w, r: {"name": "renamed project"},
        query=lambda w, r: {"id": str(w.ids["project_id"])},
    ),
    ("POST", "/api/provision/preview"): Case(
        project(ADMINS),
        json=lambda w, r: {"name": "renamed project"},
        query=lambda w, r: {"id": str(w.ids["project_id"])},
    ),
    ("GET", "/api/provision/yaml"): Case(
        project(ALL), query=lambda w, r: {"id": str(w.ids["project_id"])}
    ),
    ("GET", "/api/provision/{project_id}"): Case(project(ALL), path=P),
    ("GET", "/api/provision/{project_id}.yaml"): Case(project(ALL), path=P),
    ("GET", "/api/projects/{project_id}/repo"): Case(
        project(ALL), path=P, allowed_404="not linked"
    ),
    ("PUT", "/api/projects/{project_id}/repo"): Case(
        project(ADMINS), json=lambda w, r: {"remote_url": "file:///nonexistent/repo"}, path=P
    ),
    ("DELETE", "/api/projects/{project_id}/repo"): Case(
        project(ADMINS), path=P, allowed_404="not linked"
    ),
    ("POST", "/api/projects/{project_id}/sync"): Case(
        project(ADMINS), path=P, allowed_404="not linked"
    ),
    # collections: managed per project, and the API jobs use (here with personal tokens)
    ("GET", "/api/projects/{project_id}/collections"): Case(project(ALL), path=P),
    ("POST", "/api/projects/{project_id}/collections"): Case(
        project(WRITERS), json=lambda w, r: {"name": f"new-{r}"}, path=P
    ),
    ("DELETE", "/api/projects/{project_id}/collections/{name}"): Case(project(WRITERS), path=PC),
    ("GET", "/collections/{name}"): Case(project(ALL), path=C),
    ("POST", "/collections/{name}"): Case(
        project(WRITERS), json=lambda w, r: {"items": [{"key": r, "value": "1"}]}, path=C
    ),
    ("DELETE", "/collections/{name}"): Case(project(WRITERS), path=C),
    ("GET", "/collections/{name}/{key}"): Case(project(ALL), path=CK),
    ("PUT", "/collections/{name}/{key}"): Case(
        project(WRITERS), json=lambda w, r: {"value": "2"}, path=CK
    ),
    ("DELETE", "/collections/{name}/{key}"): Case(project(WRITERS), path=CK),
    # workflow templates
    ("GET", "/api/templates"): Case(SIGNED_IN),
    ("GET", "/api/templates/{template_id}"): Case(project(ALL), path=_ids("template_id")),
    ("DELETE", "/api/templates/{template_id}"): Case(project(WRITERS), path=_ids("template_id")),
    ("POST", "/api/projects/{project_id}/templates"): Case(
        project(WRITERS),
        json=lambda w, r: {"workflow_id": str(w.ids["workflow_id"]), "name": f"t-{r}"},
        path=P,
    ),
    ("POST", "/api/projects/{project_id}/workflows/from_template"): Case(
        project(WRITERS),
        json=lambda w, r: {"template_id": str(w.ids["template_id"]), "name": f"from-{r}"},
        path=P,
    ),
    # credentials
    ("GET", "/api/credentials"): Case(SIGNED_IN),
    ("POST", "/api/credentials"): Case(SIGNED_IN, json=lambda w, r: {"name": f"new-{r}"}),
    ("GET", "/api/credentials/{credential_id}"): Case(owned(superuser=True), path=CRED),
    ("PATCH", "/api/credentials/{credential_id}"): Case(
        owned(superuser=True), json=lambda w, r: {"production": True}, path=CRED
    ),
    ("DELETE", "/api/credentials/{credential_id}"): Case(owned(superuser=True), path=CRED),
    ("POST", "/api/credentials/{credential_id}/transfer"): Case(
        owned(superuser=True), json=lambda w, r: {"email": w.users["viewer"].email}, path=CRED
    ),
    ("POST", "/api/credentials/{credential_id}/oauth/authorize"): Case(
        owned(superuser=True), path=CRED
    ),
    ("GET", "/api/projects/{project_id}/credentials"): Case(project(ALL), path=P),
    # audit, tokens, users, administration
    ("GET", "/api/audit"): Case(SIGNED_IN),
    ("GET", "/api/tokens"): Case(SIGNED_IN),
    ("POST", "/api/tokens"): Case(SIGNED_IN, json=lambda w, r: {"name": "t"}),
    ("DELETE", "/api/tokens/{token_id}"): Case(owned(superuser=False), path=EDITOR_TOKEN),
    ("GET", "/api/users/me"): Case(SIGNED_IN),
    ("PATCH", "/api/users/me"): Case(SIGNED_IN, json=lambda w, r: {"first_name": "A"}),
    ("POST", "/api/users/me/password"): Case(
        SIGNED_IN,
        json=lambda w, r: {
            "current_password": factories.PASSWORD,
            "new_password": "another long password",
        },
    ),
    ("GET", "/api/users"): Case(SUPERUSER),
    ("POST", "/api/users"): Case(
        SUPERUSER,
        json=lambda w, r: {"email": f"created-{r}@example.org", "password": factories.PASSWORD},
    ),
    ("GET", "/api/users/{user_id}"): Case(
        SUPERUSER, path=lambda w, r: {"user_id": w.ids["viewer_id"]}
    ),
    ("PATCH", "/api/users/{user_id}"): Case(
        SUPERUSER,
        json=lambda w, r: {"disabled": True},
        path=lambda w, r: {"user_id": w.ids["viewer_id"]},
    ),
    ("DELETE", "/api/users/{user_id}/mfa"): Case(
        SUPERUSER, path=lambda w, r: {"user_id": w.ids["viewer_id"]}
    ),
    ("DELETE", "/api/users/{user_id}"): Case(
        SELF_OR_SUPERUSER, path=lambda w, r: {"user_id": w.ids["editor_id"]}
    ),
    ("GET", "/api/settings"): Case(SUPERUSER),
    ("PATCH", "/api/settings"): Case(SUPERUSER, json=lambda w, r: {"allow_registration": False}),
    ("GET", "/api/auth_providers"): Case(SUPERUSER),
    ("POST", "/api/auth_providers"): Case(
        SUPERUSER,
        json=lambda w, r: {
            "name": "other",
            "discovery_url": "https://idp.example.org/.well-known/openid-configuration",
            "client_id": "c",
            "client_secret": "s",
        },
    ),
    ("PATCH", "/api/auth_providers/{provider_id}"): Case(
        SUPERUSER, json=lambda w, r: {"enabled": False}, path=PROVIDER
    ),
    ("DELETE", "/api/auth_providers/{provider_id}"): Case(SUPERUSER, path=PROVIDER),
    # the workflow builder (ui_extension/builder): pages, then its JSON/fragment endpoints
    ("GET", "/projects/{project_id}/workflows/new"): Case(project(WRITERS), page=True, path=P),
    ("GET", "/projects/{project_id}/workflows/{workflow_id}"): Case(
        project(ALL), page=True, path=PW
    ),
    ("GET", "/projects/{project_id}/w/{workflow_id}/history"): Case(SIGNED_IN, page=True, path=PW),
    ("GET", "/projects/{project_id}/builder/cron"): Case(
        project(ALL), path=P, query=lambda w, r: {"expression": "0 * * * *"}
    ),
    ("GET", "/projects/{project_id}/builder/adaptors/operations"): Case(
        project(ALL), path=P, query=lambda w, r: {"adaptor": "@openfn/language-common@3.3.4"}
    ),
    ("POST", "/projects/{project_id}/builder/workflows"): Case(
        project(WRITERS), path=P, json=lambda w, r: {"document": {"name": f"built-{r}"}}
    ),
    ("PUT", "/projects/{project_id}/builder/workflows/{workflow_id}"): Case(
        project(WRITERS), path=PW, json=lambda w, r: {"document": {"name": f"renamed-{r}"}}
    ),
    ("POST", "/projects/{project_id}/builder/workflows/{workflow_id}/runs"): Case(
        project(WRITERS), path=PW, json=lambda w, r: {"body": {"data": {}}}
    ),
    ("GET", "/projects/{project_id}/builder/workflows/{workflow_id}/versions"): Case(
        project(ALL), path=PW
    ),
    ("GET", "/projects/{project_id}/builder/workflows/{workflow_id}/versions/diff"): Case(
        project(ALL), path=PW, query=lambda w, r: {"from": str(w.ids["version_id"])}
    ),
    (
        "POST",
        "/projects/{project_id}/builder/workflows/{workflow_id}/versions/{version_id}/restore",
    ): Case(project(WRITERS), path=PWV),
    # application pages (ui_extension/pages): projects, history, runs, credentials, settings
    ("GET", "/"): Case(SIGNED_IN, page=True),
    ("GET", "/projects"): Case(SIGNED_IN, page=True),
    ("POST", "/projects"): Case(SIGNED_IN, page=True, form=lambda w, r: {"name": f"new-{r}"}),
    ("GET", "/projects/{project_id}"): Case(project(ALL), page=True, path=P),
    ("GET", "/projects/{project_id}/history"): Case(project(ALL), page=True, path=P),
    ("GET", "/projects/{project_id}/runs/{run_id}"): Case(
        project(ALL), page=True, path=_ids("project_id", "run_id")
    ),
    ("POST", "/projects/{project_id}/history/retry"): Case(
        project(WRITERS), page=True, path=P, form=lambda w, r: {"all_matching": "1"}
    ),
    ("GET", "/projects/{project_id}/history/retries/{batch_id}"): Case(
        project(ALL),
        page=True,
        path=lambda w, r: {"project_id": w.ids["project_id"], "batch_id": uuid.uuid4()},
        allowed_404="Retry batch not found",
    ),
    ("POST", "/projects/{project_id}/runs/{run_id}/retry"): Case(
        project(WRITERS),
        page=True,
        path=_ids("project_id", "run_id"),
        form=lambda w, r: {"step_id": str(uuid.uuid4())},
        allowed_404="That step is not part of this run",
    ),
    ("GET", "/projects/{project_id}/dataclips/{dataclip_id}"): Case(
        project(ALL), page=True, path=_ids("project_id", "dataclip_id")
    ),
    ("POST", "/projects/{project_id}/dataclips/{dataclip_id}/name"): Case(
        project(WRITERS),
        page=True,
        path=_ids("project_id", "dataclip_id"),
        form=lambda w, r: {"name": f"kept by {r}", "run_id": str(w.ids["run_id"])},
    ),
    ("GET", "/projects/{project_id}/dataclips/{dataclip_id}/download"): Case(
        project(ALL), page=True, path=_ids("project_id", "dataclip_id")
    ),
    ("GET", "/projects/{project_id}/project.yaml"): Case(project(ALL), page=True, path=P),
    ("POST", "/projects/{project_id}/settings/import"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {"yaml": "name: renamed project"}
    ),
    ("POST", "/projects/{project_id}/settings/import/apply"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {"yaml": "name: renamed project"}
    ),
    ("GET", "/projects/{project_id}/settings"): Case(project(ALL), page=True, path=P),
    ("POST", "/projects/{project_id}/settings"): Case(
        project(ADMINS),
        page=True,
        path=P,
        form=lambda w, r: {"name": "renamed", "retention_policy": "retain_all"},
    ),
    ("POST", "/projects/{project_id}/settings/alerts"): Case(
        project(ALL),
        page=True,
        path=P,
        form=lambda w, r: {"failure_alert": "on", "scope": "all", "digest": "weekly"},
        allowed_404="not a member",
    ),
    ("POST", "/projects/{project_id}/settings/alert_webhook"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {"url": "https://chat.example.org"}
    ),
    ("POST", "/projects/{project_id}/settings/alert_webhook/delete"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {}
    ),
    ("POST", "/projects/{project_id}/settings/limits"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {"step_timeout_seconds": "60"}
    ),
    ("POST", "/projects/{project_id}/settings/delete"): Case(
        project(OWNER), page=True, path=P, form=lambda w, r: {"confirm_name": "not its name"}
    ),
    ("POST", "/projects/{project_id}/settings/members"): Case(
        project(ADMINS),
        page=True,
        path=P,
        form=lambda w, r: {"email": w.spare_email, "role": "viewer"},
    ),
    ("POST", "/projects/{project_id}/settings/members/{user_id}"): Case(
        project(ADMINS),
        page=True,
        path=lambda w, r: {"project_id": w.ids["project_id"], "user_id": w.ids["viewer_id"]},
        form=lambda w, r: {"role": "editor"},
    ),
    ("POST", "/projects/{project_id}/settings/owner"): Case(
        project(OWNER), page=True, path=P, form=lambda w, r: {"user_id": str(w.ids["editor_id"])}
    ),
    ("POST", "/projects/{project_id}/settings/members/{user_id}/remove"): Case(
        project(ADMINS),
        page=True,
        path=lambda w, r: {"project_id": w.ids["project_id"], "user_id": w.ids["viewer_id"]},
        form=lambda w, r: {},
    ),
    ("POST", "/projects/{project_id}/settings/webhook_auth"): Case(
        project(ADMINS), page=True, path=P, form=lambda w, r: {"name": "new", "auth_type": "api"}
    ),
    ("POST", "/projects/{project_id}/settings/webhook_auth/{method_id}/delete"): Case(
        project(ADMINS), page=True, path=_ids("project_id", "method_id"), form=lambda w, r: {}
    ),
    ("POST", "/projects/{project_id}/settings/triggers/{trigger_id}/auth"): Case(
        project(ADMINS),
        page=True,
        path=_ids("project_id", "trigger_id"),
        form=lambda w, r: {"method_ids": str(w.ids["method_id"])},
    ),
    ("GET", "/projects/{project_id}/collections"): Case(project(ALL), page=True, path=P),
    ("POST", "/projects/{project_id}/collections"): Case(
        project(WRITERS), page=True, path=P, form=lambda w, r: {"name": f"new-{r}"}
    ),
    ("POST", "/projects/{project_id}/collections/{name}/delete"): Case(
        project(WRITERS), page=True, path=PC, form=lambda w, r: {}
    ),
    ("GET", "/projects/{project_id}/collections/{name}"): Case(project(ALL), page=True, path=PC),
    ("POST", "/projects/{project_id}/collections/{name}/items"): Case(
        project(WRITERS), page=True, path=PC, form=lambda w, r: {"key": r, "value": "1"}
    ),
    ("POST", "/projects/{project_id}/collections/{name}/items/delete"): Case(
        project(WRITERS), page=True, path=PC, form=lambda w, r: {"key": "k"}
    ),
    ("POST", "/projects/{project_id}/collections/{name}/import"): Case(
        project(WRITERS), page=True, path=PC, form=lambda w, r: {}
    ),
    ("GET", "/projects/{project_id}/collections/{name}/export.{fmt}"): Case(
        project(ALL), page=True, path=lambda w, r: {**PC(w, r), "fmt": "csv"}
    ),
    ("GET", "/projects/{project_id}/templates"): Case(project(ALL), page=True, path=P),
    ("POST", "/projects/{project_id}/templates"): Case(
        project(WRITERS),
        page=True,
        path=P,
        form=lambda w, r: {"workflow_id": str(w.ids["workflow_id"]), "name": f"t-{r}"},
    ),
    ("POST", "/projects/{project_id}/templates/{template_id}/use"): Case(
        project(WRITERS),
        page=True,
        path=_ids("project_id", "template_id"),
        form=lambda w, r: {"name": f"from-{r}"},
    ),
    ("GET", "/credentials"): Case(SIGNED_IN, page=True),
    ("GET", "/credentials/new"): Case(SIGNED_IN, page=True, query=lambda w, r: {"schema": "raw"}),
    ("POST", "/credentials/new"): Case(
        SIGNED_IN,
        page=True,
        form=lambda w, r: {"schema": "raw", "mode": "raw", "name": f"new-{r}", "raw_body": "{}"},
    ),
    ("GET", "/credentials/{credential_id}"): Case(owned(superuser=True), page=True, path=CRED),
    ("POST", "/credentials/{credential_id}"): Case(
        owned(superuser=True),
        page=True,
        path=CRED,
        form=lambda w, r: {"mode": "raw", "name": "c", "raw_body": '{"password": "********"}'},
    ),
    ("POST", "/credentials/{credential_id}/transfer"): Case(
        owned(superuser=True),
        page=True,
        path=CRED,
        form=lambda w, r: {"email": w.users["viewer"].email},
    ),
    ("POST", "/credentials/{credential_id}/delete"): Case(
        owned(superuser=True), page=True, path=CRED, form=lambda w, r: {}
    ),
    ("POST", "/credentials/{credential_id}/oauth"): Case(
        owned(superuser=True), page=True, path=CRED, form=lambda w, r: {}
    ),
    ("GET", "/admin/users"): Case(SUPERUSER, page=True),
    ("POST", "/admin/users"): Case(
        SUPERUSER,
        page=True,
        form=lambda w, r: {"email": f"made-{r}@example.org", "password": factories.PASSWORD},
    ),
    ("POST", "/admin/users/{user_id}"): Case(
        SUPERUSER,
        page=True,
        path=lambda w, r: {"user_id": w.ids["viewer_id"]},
        form=lambda w, r: {"change": "disable"},
    ),
    ("GET", "/admin/projects"): Case(SUPERUSER, page=True),
    ("GET", "/admin/audit"): Case(SUPERUSER, page=True),
    # pages: public ones
    ("GET", "/login"): Case(PUBLIC, page=True),
    ("POST", "/login"): Case(PUBLIC, page=True, form=_login),
    ("GET", "/login/mfa"): Case(PUBLIC, page=True),
    ("POST", "/login/mfa"): Case(PUBLIC, page=True, form=lambda w, r: {"code": "000000"}),
    ("POST", "/logout"): Case(PUBLIC, page=True, form=lambda w, r: {}),
    ("GET", "/register"): Case(PUBLIC, page=True),
    ("POST", "/register"): Case(
        PUBLIC,
        page=True,
        form=lambda w, r: {"email": f"reg-{r}@example.org", "password": factories.PASSWORD},
    ),
    ("GET", "/password/reset"): Case(PUBLIC, page=True),
    ("POST", "/password/reset"): Case(
        PUBLIC, page=True, form=lambda w, r: {"email": "someone@example.org"}
    ),
    ("GET", "/password/reset/{token}"): Case(
        PUBLIC, page=True, path=lambda w, r: {"token": "unknown"}
    ),
    ("POST", "/password/reset/{token}"): Case(
        PUBLIC,
        page=True,
        path=lambda w, r: {"token": "unknown"},
        form=lambda w, r: {"new_password": "x" * 12, "confirm_password": "x" * 12},
    ),
    ("GET", "/auth/sso/{provider_id}"): Case(PUBLIC, page=True, path=PROVIDER),
    ("GET", "/auth/sso/{provider_id}/callback"): Case(PUBLIC, page=True, path=PROVIDER),
    # pages for the signed-in (anonymous visitors are sent to /login)
    ("GET", "/profile"): Case(SIGNED_IN, page=True),
    ("POST", "/profile/password"): Case(
        SIGNED_IN,
        page=True,
        form=lambda w, r: {
            "current_password": factories.PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    ),
    ("POST", "/profile/mfa/enrol"): Case(SIGNED_IN, page=True, form=lambda w, r: {}),
    ("POST", "/profile/mfa/confirm"): Case(
        SIGNED_IN, page=True, form=lambda w, r: {"code": "123456"}
    ),
    ("POST", "/profile/mfa/backup_codes"): Case(SIGNED_IN, page=True, form=lambda w, r: {}),
    ("POST", "/profile/mfa/disable"): Case(
        SIGNED_IN, page=True, form=lambda w, r: {"password": factories.PASSWORD}
    ),
    ("POST", "/profile/tokens"): Case(SIGNED_IN, page=True, form=lambda w, r: {"name": "n"}),
    ("POST", "/profile/tokens/{token_id}/revoke"): Case(
        SIGNED_IN, page=True, form=lambda w, r: {}, path=OWN_TOKEN
    ),
    ("GET", "/oauth/callback"): Case(SIGNED_IN, page=True),
}


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        pairs = (
            [(ctx.original_route, ctx.path) for ctx in contexts()]
            if contexts
            else [(route, getattr(route, "path", ""))]
        )
        for original, path in pairs:
            for method in sorted(getattr(original, "methods", None) or ()):
                if method != "HEAD":
                    yield method, path


def test_every_route_has_an_access_rule() -> None:
    from lightning_flows.api.app import create_app

    routes = set(app_routes(create_app()))
    missing = sorted(routes - set(ROUTES))
    assert not missing, (
        f"Routes without an access rule: {missing}. Add each to ROUTES in {__file__} "
        "with the rule lightning_flows/accounts/policy.py enforces for it."
    )
    assert not sorted(set(ROUTES) - routes), "ROUTES names routes that no longer exist"


def _request(client: TestClient, world: World, method: str, path: str, role: str) -> Any:
    case = ROUTES[(method, path)]
    url = path.format(
        **{k: str(v) for k, v in (case.path(world, role) if case.path else {}).items()}
    )
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if case.query:
        kwargs["params"] = case.query(world, role)
    if case.page:
        if role != "anonymous":
            client.cookies.set(session_cookie_name(), world.cookies[role])
        if case.form is not None:
            data = case.form(world, role)
            data["csrf_token"] = csrf_token(client, "/login" if role == "anonymous" else "/profile")
            kwargs["data"] = data
    else:
        if role != "anonymous":
            kwargs["headers"] = {"Authorization": f"Bearer {world.tokens[role]}"}
        if case.json is not None:
            kwargs["json"] = case.json(world, role)
    return client.request(method, url, **kwargs)


def _verdict(case: Case, where: str, role: str, response: Any) -> str | None:
    """None when the response is what the rule expects for `role`, else why not."""
    expected = case.rule.outcome(role)
    status = response.status_code
    if case.page and expected == 401:
        location = response.headers.get("location", "")
        if status == 303 and location.startswith("/login?next="):
            return None
        return f"{where}: expected a redirect to /login, got {status} {location}"
    if expected is None:
        if case.allowed_404 and status == 404 and case.allowed_404 in response.text:
            return None  # a domain answer (JSON detail or an HTML page), not a denial
        if status in (401, 403, 404, 500):
            return f"{where} should be allowed: {status} {response.text[:300]}"
        return None
    if status != expected:
        return f"{where} should be {expected}: {status} {response.text[:300]}"
    return None


def _empty(session: Session) -> None:
    session.expunge_all()
    with get_engine().begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=lambda v: str(v))
def test_route_allows_or_denies(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    """Every role against one route. Denied roles go first on one world (a refusal
    changes nothing); each allowed call of a state-changing route gets a fresh world."""
    case = ROUTES[(method, path)]
    changes_state = method not in ("GET", "HEAD", "OPTIONS")
    failures: list[str] = []
    world, used = build_world(session), False
    for role in sorted(ROLES, key=lambda r: case.rule.outcome(r) is None):
        allowed = case.rule.outcome(role) is None
        if allowed and changes_state and used:
            _empty(session)
            world, used = build_world(session), False
        client.cookies.clear()
        response = _request(client, world, method, path, role)
        used = used or allowed
        failure = _verdict(case, f"{method} {path} as {role} ({case.rule.name})", role, response)
        if failure:
            failures.append(failure)
    assert not failures, "\n".join(failures)


# --- the role ceiling ------------------------------------------------------------------

# (actor, method, whose membership, new role, expected status). "spare" is a non-member
# being invited. Nobody grants or takes a role above their own; the owner's role moves
# only by POST /api/projects/{id}/owner, which only the owner (or a superuser) makes.
CEILING_MOVES = [
    ("admin", "PATCH", "admin", "owner", 403),
    ("admin", "PATCH", "viewer", "owner", 403),
    ("admin", "PATCH", "owner", "viewer", 409),
    ("admin", "DELETE", "owner", None, 409),
    ("admin", "POST", "spare", "owner", 403),
    ("admin", "POST", "spare", "admin", 201),
    ("admin", "PATCH", "viewer", "admin", 200),
    ("admin", "PATCH", "admin", "editor", 200),
    ("owner", "PATCH", "admin", "owner", 403),
    ("owner", "PATCH", "owner", "admin", 409),
    ("owner", "DELETE", "owner", None, 409),
    ("owner", "PATCH", "admin", "viewer", 200),
    ("superuser", "PATCH", "owner", "admin", 409),
    ("superuser", "DELETE", "owner", None, 409),
    ("superuser", "PATCH", "viewer", "admin", 200),
    ("editor", "PATCH", "editor", "admin", 403),
]


@pytest.mark.parametrize(("actor", "method", "whose", "role", "status"), CEILING_MOVES)
def test_role_ceiling(
    client: TestClient,
    session: Session,
    actor: str,
    method: str,
    whose: str,
    role: str | None,
    status: int,
) -> None:
    world = build_world(session)
    base = f"/api/projects/{world.ids['project_id']}/users"
    headers = {"Authorization": f"Bearer {world.tokens[actor]}"}
    if method == "POST":
        answer = client.post(base, json={"email": world.spare_email, "role": role}, headers=headers)
    else:
        url = f"{base}/{world.users[whose].id}"
        json = {"role": role} if role else None
        answer = client.request(method, url, json=json, headers=headers)
    assert answer.status_code == status, answer.text
    members = {m["email"]: m["role"] for m in client.get(base, headers=headers).json()}
    assert list(members.values()).count("owner") == 1
    assert members[world.users["owner"].email] == "owner"


def test_an_admin_cannot_take_the_project_from_its_owner(
    client: TestClient, session: Session
) -> None:
    """The escalation reported in issue 13, step by step: every step is refused."""
    world = build_world(session)
    project_id, owner_id = world.ids["project_id"], world.users["owner"].id
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    base = f"/api/projects/{project_id}"
    steps = [
        client.patch(
            f"{base}/users/{world.users['admin'].id}", json={"role": "owner"}, headers=admin
        ),
        client.patch(f"{base}/users/{owner_id}", json={"role": "viewer"}, headers=admin),
        client.delete(f"{base}/users/{owner_id}", headers=admin),
        client.post(f"{base}/owner", json={"user_id": str(world.users["admin"].id)}, headers=admin),
        client.delete(base, headers=admin),
    ]
    assert [s.status_code for s in steps] == [403, 409, 409, 403, 403]
    assert "above your own" in steps[0].text or "transfers ownership" in steps[0].text
    assert "must keep at least one owner" in steps[1].json()["detail"]


def test_the_owner_transfers_ownership(client: TestClient, session: Session) -> None:
    world = build_world(session)
    base = f"/api/projects/{world.ids['project_id']}"
    owner = {"Authorization": f"Bearer {world.tokens['owner']}"}
    moved = client.post(
        f"{base}/owner", json={"user_id": str(world.ids["editor_id"])}, headers=owner
    )
    assert moved.status_code == 200 and moved.json()["role"] == "owner"
    members = {m["email"]: m["role"] for m in client.get(f"{base}/users", headers=owner).json()}
    assert members[world.users["owner"].email] == "admin"
    assert members[world.users["editor"].email] == "owner"
    again = client.post(
        f"{base}/owner", json={"user_id": str(world.ids["viewer_id"])}, headers=owner
    )
    assert again.status_code == 403  # the former owner is an admin now
