"""The FastAPI app factory: routes, error handlers and the UI, registered once."""

from __future__ import annotations

import os

from fastapi import FastAPI

from lightning_flows import __version__
from lightning_flows.api import openapi
from lightning_flows.api.errors import register_error_handlers
from lightning_flows.api.input_limits import InputLimits
from lightning_flows.api.routes import (
    admin,
    alerts,
    audit,
    collections,
    credentials,
    dataclips,
    gitsync,
    health,
    history_export,
    projects,
    provision,
    retry_batches,
    run_requests,
    runs,
    templates,
    test_cases,
    tokens,
    users,
    webhook_auth,
    workflow_history,
    workflows,
)
from lightning_flows.api.server_errors import ServerErrors
from lightning_flows.core.config import get_settings
from lightning_flows.webhooks import routes as webhooks
from lightning_flows.webhooks.fast_path import WebhookFastPath


def create_app() -> FastAPI:
    """Build the platform's ASGI app (API, webhooks, UI)."""
    app = FastAPI(
        title="Lightning Flows",
        version=__version__,
        description="Workflow automation for governments and NGOs. "
        "Authenticate with `Authorization: Bearer <personal access token>`.",
    )
    register_error_handlers(app)
    openapi.install(app)
    # Added innermost first: ServerErrors wraps everything (webhooks too), then
    # webhooks take their fast path, then every other request passes InputLimits.
    app.add_middleware(InputLimits)
    app.add_middleware(WebhookFastPath)
    app.add_middleware(ServerErrors)
    if get_settings().prefect_sync and os.environ.get("PREFECT_API_URL"):
        from lightning_flows.engine.prefect.deployments import enable_deployment_sync

        enable_deployment_sync()
    for module in (
        health,
        projects,
        history_export,
        runs,
        retry_batches,
        dataclips,
        run_requests,
        workflows,
        test_cases,
    ):
        app.include_router(module.router)
    app.include_router(webhook_auth.router)
    app.include_router(provision.router)
    app.include_router(workflow_history.router)
    app.include_router(workflow_history.alerts_router)
    app.include_router(alerts.router)
    app.include_router(gitsync.router)
    app.include_router(collections.router)
    app.include_router(templates.router)
    _enable_projects_as_code_hooks()
    app.include_router(webhooks.router)
    for security_module in (credentials, audit, tokens, users, admin):
        app.include_router(security_module.router)
    import ui_extension

    app.include_router(ui_extension.router)
    return app


def _enable_projects_as_code_hooks() -> None:
    """Git sync pushes and workflow change emails, after every committed change."""
    from lightning_flows.gitsync import hooks as gitsync_hooks
    from lightning_flows.notifications import workflow_changes

    gitsync_hooks.enable()
    workflow_changes.enable()
