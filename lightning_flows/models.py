"""Every table of the platform, imported once so the metadata is complete."""

from sqlmodel import SQLModel

from lightning_flows.accounts.models import (
    ApiToken,
    AuthProvider,
    InstanceSetting,
    User,
    UserSession,
    UserToken,
)
from lightning_flows.audit.models import AuditEvent
from lightning_flows.collections.models import CollectionItem
from lightning_flows.credentials.models import (
    Credential,
    ProjectCredential,
    TriggerWebhookAuthMethod,
    WebhookAuthMethod,
)
from lightning_flows.gitsync.models import RepoConnection
from lightning_flows.limits.models import ProjectUsage
from lightning_flows.notifications.models import (
    AlertOutbox,
    AlertThrottle,
    AlertWebhook,
    DigestDelivery,
)
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.projects.spec_models import Channel, Collection
from lightning_flows.runs.batch_models import RetryBatch, RetryBatchItem
from lightning_flows.runs.models import Dataclip, LogLine, Run, Step, WorkerRecord, WorkOrder
from lightning_flows.templates.models import WorkflowTemplate
from lightning_flows.testing.models import WorkflowTestCase
from lightning_flows.workflows.models import (
    Edge,
    Job,
    Trigger,
    Workflow,
    WorkflowSnapshot,
    WorkflowVersion,
)

metadata = SQLModel.metadata

__all__ = [
    "AlertOutbox",
    "AlertThrottle",
    "AlertWebhook",
    "ApiToken",
    "AuditEvent",
    "AuthProvider",
    "Channel",
    "Collection",
    "CollectionItem",
    "Credential",
    "Dataclip",
    "DigestDelivery",
    "Edge",
    "InstanceSetting",
    "Job",
    "LogLine",
    "Project",
    "ProjectCredential",
    "ProjectUsage",
    "ProjectUser",
    "RepoConnection",
    "RetryBatch",
    "RetryBatchItem",
    "Run",
    "Step",
    "Trigger",
    "TriggerWebhookAuthMethod",
    "User",
    "UserSession",
    "UserToken",
    "WebhookAuthMethod",
    "WorkOrder",
    "WorkerRecord",
    "Workflow",
    "WorkflowSnapshot",
    "WorkflowTemplate",
    "WorkflowTestCase",
    "WorkflowVersion",
    "metadata",
]
