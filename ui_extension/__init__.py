"""The web UI, mounted into the API app by `create_app` (`app.include_router(ui_extension.router)`).

Pages build on `templates/base.html` and `lightning_flows.api.web`
(`SessionUser`, `CSRFProtected`); see `ui_extension/templating.py`.
"""

from ui_extension.routes import router

__all__ = ["router"]
