"""Linking a project to a git branch, pushing every change, pulling outside commits.

The platform owns `project.yaml`, `.state.json` and `workflows/` in the branch.
It remembers the last commit both sides agreed on (`last_synced_commit`):
  * push (after every save/provision) builds on that commit; if the branch has
    moved on, nothing is pushed and the connection records why;
  * pull accepts a branch that contains that commit (outside commits on top)
    and refuses one whose history no longer does (diverged).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from lightning_flows.accounts.models import User
from lightning_flows.audit import service as audit
from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.core.timeutil import utcnow
from lightning_flows.gitsync.git import GitAuth, GitError, Workspace, check_remote
from lightning_flows.gitsync.models import GitAuthType, RepoConnection
from lightning_flows.projects.models import Project
from lightning_flows.provisioning import files
from lightning_flows.provisioning import service as provisioning
from lightning_flows.provisioning.export import project_state
from lightning_flows.provisioning.state import merge_spec_and_state, rekey

log = logging.getLogger(__name__)
MANAGED_PATHS = [files.SPEC_FILE, files.STATE_FILE, files.BODIES_DIR]
_locks: defaultdict[uuid.UUID, threading.RLock] = defaultdict(threading.RLock)


class RepoLink(BaseModel):
    remote_url: str = Field(min_length=1, max_length=2048)
    branch: str = Field(default="main", min_length=1, max_length=255, pattern=r"^[\w./-]+$")
    auth_type: GitAuthType = GitAuthType.NONE
    secret: str | None = Field(default=None, description="The token or the SSH private key.")
    known_hosts: str | None = Field(default=None, description="For SSH: the host's key line(s).")

    @field_validator("branch")
    @classmethod
    def _plain_branch(cls, value: str) -> str:
        if value.startswith(("-", "/")) or ".." in value or value.endswith((".lock", "/")):
            raise ValueError("not a usable branch name")
        return value


@dataclass
class PullResult:
    commit: str
    up_to_date: bool
    state: dict[str, Any]
    changed: dict[str, list[str]] = field(default_factory=dict)


def get_connection(session: Session, project_id: uuid.UUID) -> RepoConnection:
    conn = session.exec(
        select(RepoConnection).where(RepoConnection.project_id == project_id)
    ).first()
    if conn is None:
        raise NotFound("This project is not linked to a git repository.")
    return conn


def link(
    session: Session, project_id: uuid.UUID, data: RepoLink, actor: User
) -> tuple[RepoConnection, str]:
    """Link (or re-link) the project; returns the connection and its new webhook secret."""
    try:
        check_remote(data.remote_url)
    except GitError as exc:
        raise InvalidInput(f"remote_url: {exc}") from exc
    if data.auth_type != GitAuthType.NONE and not data.secret:
        raise InvalidInput(f"secret: a {data.auth_type.value} needs the secret itself")
    conn = session.exec(
        select(RepoConnection).where(RepoConnection.project_id == project_id)
    ).first()
    conn = conn or RepoConnection(project_id=project_id, remote_url=data.remote_url)
    webhook_secret = secrets.token_urlsafe(32)
    conn.remote_url, conn.branch, conn.auth_type = (
        data.remote_url,
        data.branch,
        data.auth_type.value,
    )
    conn.secret, conn.known_hosts = data.secret, data.known_hosts
    conn.webhook_secret, conn.created_by_id = webhook_secret, actor.id
    conn.last_synced_commit, conn.last_error = None, None
    touch(conn)
    session.add(conn)
    audit.record(
        session,
        "repo_linked",
        "project",
        project_id,
        actor.id,
        after={"remote_url": data.remote_url, "branch": data.branch, "auth": data.auth_type.value},
    )
    session.commit()
    push_project(project_id, actor.id, "Link project to this branch")
    session.refresh(conn)
    return conn, webhook_secret


def unlink(session: Session, project_id: uuid.UUID, actor: User) -> None:
    conn = get_connection(session, project_id)
    audit.record(session, "repo_unlinked", "project", project_id, actor.id,
                 before={"remote_url": conn.remote_url, "branch": conn.branch})  # fmt: skip
    session.delete(conn)
    session.commit()


def push_project(
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    message: str,
    keys_from: dict[str, Any] | None = None,
) -> str | None:
    """Commit the project's files as `actor` and push; returns the new commit (None: nothing).

    Keys are kept from `keys_from` (the state a provision answered with its
    document's keys), else from the branch's state file. Runs after a change is
    committed: failures are recorded on the connection, never raised.
    """
    with _locks[project_id], Session(get_engine(), expire_on_commit=False) as session:
        conn = session.exec(
            select(RepoConnection).where(RepoConnection.project_id == project_id)
        ).first()
        project = session.get(Project, project_id)
        if conn is None or project is None:
            return None
        name, email = _identity(session.get(User, actor_id) if actor_id else None)
        state = project_state(session, project)
        try:
            with Workspace(conn.remote_url, conn.branch, _auth(conn)) as ws:
                head = ws.remote_head()
                if conn.last_synced_commit and head and head != conn.last_synced_commit:
                    raise GitError(
                        f"branch '{conn.branch}' has commits Lightning Flows has not pulled "
                        f"(at {head[:7]}, last synced {conn.last_synced_commit[:7]}); "
                        "sync pull first, the next change is then pushed"
                    )
                ws.checkout(head)
                _replace_files(ws, state, keys_from)
                commit = ws.commit(MANAGED_PATHS, name, email, message)
                if commit:
                    ws.push()
        except GitError as exc:
            log.warning("git push of project %s failed: %s", project_id, exc)
            _record(session, conn, error=str(exc))
            return None
        _record(session, conn, commit=commit or head)
        return commit


def pull_project(session: Session, project_id: uuid.UUID, actor: User) -> PullResult:
    """Provision the branch's spec into the project (after checking it has not diverged)."""
    with _locks[project_id]:
        conn = get_connection(session, project_id)
        try:
            with Workspace(conn.remote_url, conn.branch, _auth(conn)) as ws:
                head = ws.remote_head()
                if head is None:
                    raise Conflict(
                        f"The branch '{conn.branch}' does not exist on {conn.remote_url}."
                    )
                ws.checkout(head)
                if head == conn.last_synced_commit:
                    state = project_state(session, session.get(Project, project_id))  # type: ignore[arg-type]
                    return PullResult(commit=head, up_to_date=True, state=state)
                if conn.last_synced_commit and not ws.contains(conn.last_synced_commit, head):
                    raise Conflict(_diverged(conn, head))
                spec = files.read_spec(ws.dir / files.SPEC_FILE, confine=True)
                repo_state = files.read_state(ws.dir / files.STATE_FILE)
        except GitError as exc:
            raise Conflict(f"Cannot read {conn.remote_url} ({conn.branch}): {exc}") from exc
        if repo_state and repo_state.get("id") != str(project_id):
            repo_state = None  # a state of another project: match by names instead
        payload = merge_spec_and_state(spec, repo_state)
        payload["id"] = str(project_id)
        outcome = provisioning.apply(session, actor, payload, project_id, via="git")
        _record(session, conn, commit=head, commit_now=False)
        session.commit()
        provisioning.after_commit(outcome, f"git pull of {head[:7]}")
        return PullResult(
            commit=head, up_to_date=False, state=outcome.state, changed=outcome.changed
        )


def _diverged(conn: RepoConnection, head: str) -> str:
    last = (conn.last_synced_commit or "")[:7]
    return (
        f"The branch '{conn.branch}' of {conn.remote_url} has diverged from what Lightning Flows "
        f"last pushed: commit {last} is no longer in its history (now at {head[:7]}; was it "
        "force-pushed or reset?). Nothing was changed. Restore or merge that commit into the "
        "branch, or link the repository again to start over from the branch as it is."
    )


def _replace_files(ws: Workspace, state: dict[str, Any], keys_from: dict[str, Any] | None) -> None:
    """Write the project's files, keeping the keys already in use for each id."""
    try:
        previous = keys_from or files.read_state(ws.dir / files.STATE_FILE)
    except InvalidInput:
        previous = None
    if previous and previous.get("id") == state["id"]:
        state = rekey(state, previous)
    shutil.rmtree(ws.dir / files.BODIES_DIR, ignore_errors=True)
    files.write(ws.dir, state)
    (ws.dir / files.STATE_FILE).write_text(files.state_text(state), encoding="utf-8")


def _record(
    session: Session,
    conn: RepoConnection,
    *,
    commit: str | None = None,
    error: str | None = None,
    commit_now: bool = True,
) -> None:
    conn.last_error = error
    if error is None:
        conn.last_synced_commit, conn.last_synced_at = commit, utcnow()
    touch(conn)
    session.add(conn)
    if commit_now:
        session.commit()


def _auth(conn: RepoConnection) -> GitAuth:
    return GitAuth(kind=conn.auth_type, secret=conn.secret, known_hosts=conn.known_hosts)


def _identity(user: User | None) -> tuple[str, str]:
    if user is None:
        return "Lightning Flows", "lightning-flows@localhost"
    return (f"{user.first_name} {user.last_name}".strip() or user.email), user.email
