"""The workflow builder: the canvas page, its JSON endpoints and inspector fragments."""

from fastapi import APIRouter

from ui_extension.builder import api, pages, tools

router = APIRouter()
for module in (api, tools, pages):
    router.include_router(module.router)

__all__ = ["router"]
