"""The FastAPI app factory: routes, error handlers and the UI, registered once."""

from __future__ import annotations

import os

from fastapi import FastAPI

from lightning_flows import __version__
from lightning_flows.api.errors import register_error_handlers
from lightning_flows.api.routes import (
    health,
    projects,
    run_requests,
    runs,
    webhook_auth,
    workflows,
)
from lightning_flows.core.config import get_settings
from lightning_flows.webhooks import routes as webhooks


def create_app() -> FastAPI:
    """Build the platform's ASGI app (API, webhooks, UI)."""
    app = FastAPI(
        title="Lightning Flows",
        version=__version__,
        description="Workflow automation for governments and NGOs. "
        "Authenticate with `Authorization: Bearer <personal access token>`.",
    )
    register_error_handlers(app)
    if get_settings().prefect_sync and os.environ.get("PREFECT_API_URL"):
        from lightning_flows.engine.deployments import enable_deployment_sync

        enable_deployment_sync()
    for module in (health, projects, runs, run_requests, workflows):
        app.include_router(module.router)
    app.include_router(webhook_auth.router)
    app.include_router(webhooks.router)
    return app
