"""The guide in the app: docs/guide/*.md rendered at /help, with their images.

`/help` is the index, `/help/{page}` a page (`build` for build.md), `/help/ref/{name}`
a reference page of docs/ the guide links to, `/help/images/{file}` a screenshot.
Markdown is rendered by markdown-it with raw HTML disabled (it is shown as text)
and only safe link schemes; links between guide pages become app URLs and headings
get GitHub's anchors, so `build.md#4-the-job-code` works both on GitHub and here.
Anyone may read the guide, signed in or not.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from markdown_it import MarkdownIt
from markdown_it.token import Token

from lightning_flows.api.web import OptionalSessionUser
from lightning_flows.core.errors import NotFound
from ui_extension.pages.common import PageRoute
from ui_extension.templating import render


def _docs_dir() -> Path:
    """docs/ of a source checkout, else beside the virtualenv (the image's /app/docs),
    else ./docs."""
    candidates = (
        Path(__file__).resolve().parents[1] / "docs",
        Path(sys.prefix).parent / "docs",
    )
    return next((c for c in candidates if (c / "guide").is_dir()), Path.cwd() / "docs")


DOCS_DIR = _docs_dir()
GUIDE_DIR = DOCS_DIR / "guide"
# The guide's reading order; any other page of docs/guide is listed after these.
ORDER = ["index", "plan", "build", "debug", "reprocess", "collections", "code"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\.png$")
_GUIDE_LINK = re.compile(r"^(?P<name>[a-z0-9-]+)\.md(?P<anchor>#[a-z0-9-]*)?$")
_REF_LINK = re.compile(r"^\.\./(?P<name>[a-z0-9-]+)\.md(?P<anchor>#[a-z0-9-]*)?$")

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    kept = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return kept.replace(" ", "-")


def _app_url(href: str) -> str:
    if match := _GUIDE_LINK.match(href):
        name = match["name"]
        return ("/help" if name == "index" else f"/help/{name}") + (match["anchor"] or "")
    if match := _REF_LINK.match(href):
        return f"/help/ref/{match['name']}" + (match["anchor"] or "")
    if href.startswith("images/") and _IMAGE.match(href.removeprefix("images/")):
        return f"/help/{href}"
    return href


def _heading_ids(state: Any) -> None:
    tokens: list[Token] = state.tokens
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            token.attrSet("id", slug(tokens[index + 1].content))


def _app_links(state: Any) -> None:
    for token in state.tokens:
        for child in token.children or []:
            if child.type == "link_open":
                child.attrSet("href", _app_url(str(child.attrGet("href") or "")))
            elif child.type == "image":
                child.attrSet("src", _app_url(str(child.attrGet("src") or "")))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.core.ruler.push("heading_ids", _heading_ids)
    md.core.ruler.push("app_links", _app_links)
    return md


def _title(text: str, fallback: str) -> str:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return first.removeprefix("# ").strip() if first.startswith("# ") else fallback


def guide_pages() -> list[dict[str, str]]:
    """[{name, title, url}] in reading order."""
    names = sorted(p.stem for p in GUIDE_DIR.glob("*.md")) if GUIDE_DIR.is_dir() else []
    ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    return [
        {
            "name": name,
            "title": _title((GUIDE_DIR / f"{name}.md").read_text(encoding="utf-8"), name),
            "url": "/help" if name == "index" else f"/help/{name}",
        }
        for name in ordered
    ]


def _read(directory: Path, name: str, missing: str) -> str:
    path = directory / f"{name}.md"
    if not _NAME.match(name) or not path.is_file():
        raise NotFound(missing)
    return path.read_text(encoding="utf-8")


def _page(request: Request, user: Any, text: str, name: str, *, reference: bool) -> HTMLResponse:
    return render(
        request,
        "guide/page.html",
        {
            "title": _title(text, name),
            "body": _markdown().render(text),
            "pages": guide_pages(),
            "current": None if reference else name,
        },
        user=user,
    )


@router.get("/help", response_class=HTMLResponse)
def guide_index(request: Request, user: OptionalSessionUser) -> HTMLResponse:
    text = _read(GUIDE_DIR, "index", "The guide is not installed with this server (docs/guide).")
    return _page(request, user, text, "index", reference=False)


@router.get("/help/ref/{name}", response_class=HTMLResponse)
def reference_page(request: Request, user: OptionalSessionUser, name: str) -> HTMLResponse:
    text = _read(DOCS_DIR, name, "There is no such reference page.")
    return _page(request, user, text, name, reference=True)


@router.get("/help/images/{file_name}")
def guide_image(file_name: str) -> FileResponse:
    path = GUIDE_DIR / "images" / file_name
    if not _IMAGE.match(file_name) or not path.is_file():
        raise NotFound("There is no such image in the guide.")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.get("/help/{name}", response_class=HTMLResponse)
def guide_page(request: Request, user: OptionalSessionUser, name: str) -> HTMLResponse:
    text = _read(GUIDE_DIR, name, "There is no such page in the guide.")
    return _page(request, user, text, name, reference=False)
