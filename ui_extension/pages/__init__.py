"""The application pages: projects and dashboards, history, run inspector, credentials,
project settings (and projects as code) and superuser administration.

Each module has its own router of `PageRoute`s; `router` gathers them for
`ui_extension.routes`. Importing this package registers the Jinja filters.
"""

from fastapi import APIRouter

from ui_extension.pages import (
    admin,
    alert_settings,
    collections,
    credentials,
    formatting,  # noqa: F401  (registers the template filters)
    history,
    history_retry,
    limits_settings,
    project_code,
    projects,
    runs,
    settings,
    templates,
)

router = APIRouter()
for module in (
    projects,
    history,
    history_retry,
    runs,
    credentials,
    settings,
    limits_settings,
    alert_settings,
    project_code,
    collections,
    templates,
    admin,
):
    router.include_router(module.router)
