"""Every page router of the UI, gathered into one router for `create_app`."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from ui_extension import builder, guide, pages
from ui_extension.auth import login, oauth_callback, profile, reset

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)
for module in (login, reset, profile, oauth_callback):
    router.include_router(module.router)
router.include_router(builder.router)
router.include_router(pages.router)
router.include_router(guide.router)
# Front-end files; the bundles in static/dist are built by `make ui` (npm ci + esbuild).
router.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
