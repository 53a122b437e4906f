"""The FastAPI app factory: routes, error handlers and the UI, registered once."""

from __future__ import annotations

from fastapi import FastAPI

from lightning_flows import __version__
from lightning_flows.api.errors import register_error_handlers
from lightning_flows.api.routes import health, projects, workflows


def create_app() -> FastAPI:
    """Build the platform's ASGI app (API, webhooks, UI)."""
    app = FastAPI(
        title="Lightning Flows",
        version=__version__,
        description="Workflow automation for governments and NGOs. "
        "Authenticate with `Authorization: Bearer <personal access token>`.",
    )
    register_error_handlers(app)
    for module in (health, projects, workflows):
        app.include_router(module.router)
    return app
