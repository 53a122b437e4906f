"""Instance-wide settings a superuser changes at run time (`/api/settings`).

Each falls back to its `LIGHTNING_*` environment default until a superuser sets it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from lightning_flows.accounts.models import InstanceSetting, User
from lightning_flows.audit import service as audit
from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import utcnow

ALLOW_REGISTRATION = "allow_registration"


class InstanceSettings(BaseModel):
    allow_registration: bool


class InstanceSettingsUpdate(BaseModel):
    allow_registration: bool | None = None


def _value(session: Session, key: str, default: Any) -> Any:
    row = session.get(InstanceSetting, key)
    return default if row is None else row.value


def current(session: Session) -> InstanceSettings:
    return InstanceSettings(
        allow_registration=bool(
            _value(session, ALLOW_REGISTRATION, get_settings().allow_registration)
        )
    )


def registration_allowed(session: Session) -> bool:
    return current(session).allow_registration


def update(session: Session, data: InstanceSettingsUpdate, actor: User) -> InstanceSettings:
    """Change settings (superusers only: the route checks); audited on the actor."""
    changes = data.model_dump(exclude_none=True)
    before = current(session).model_dump()
    for key, value in changes.items():
        row = session.get(InstanceSetting, key) or InstanceSetting(key=key)
        row.value = value
        row.updated_at = utcnow()
        session.add(row)
    audit.record(
        session,
        "settings_updated",
        "user",
        actor.id,
        actor.id,
        before={k: before[k] for k in changes},
        after=changes,
    )
    session.commit()
    return current(session)
