"""Reading the guide's code samples and checking results against them.

Every fenced block in docs/guide/*.md says what it is in its info string,
`<language> <kind> [key=value ...] [flag ...]`:

    js job id=J [adaptor=A] [credential=C] [timeout=S] [saves=J2] [platform] [file=P]
    json input id=E job=J [file=P] [platform]
                                       the state a job sample starts from (`platform`:
                                       also run by a worker, as the builder's Run does;
                                       a `platform` job runs only there)
    json output id=E                   the final state of example E (exact)
    text error id=E                    E ends failed/crashed/killed with this error
    text log id=E                      each line appears in one of E's log lines
    json credential id=C               a credential body (configuration)
    http request [wait] [needs=ROUTE]  a request to the app; `wait`: repeat until
                                       the next response block matches
    http response                      status line, blank line, a JSON subset
    bash cli [needs=ROUTE]             commands, one a line, run in the page's folder
    text stdout                        lines found, in order, in the last commands' output
    <lang> file=P                      written to P in the page's folder when reached
    text diagram                       a picture made of text, nothing to run

In expected values, `<name>` matches anything and remembers it as `name`
(once remembered, it must be equal); requests and commands substitute it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
KINDS = {
    "job",
    "input",
    "output",
    "error",
    "log",
    "credential",
    "request",
    "response",
    "cli",
    "stdout",
    "file",
    "diagram",
}
# The example systems the guide talks to; tests serve them on 127.0.0.1.
REGISTRY = "https://registry.example.org"
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_PLACEHOLDER = re.compile(r"<([a-z_][a-z0-9_]*)>")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    kind: str
    attrs: dict[str, str]
    flags: set[str]
    text: str

    @property
    def where(self) -> str:
        return f"docs/guide/{self.page}:{self.line}"

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{self.where}: invalid JSON: {exc}") from exc


@dataclass
class Page:
    name: str
    text: str
    blocks: list[Block] = field(default_factory=list)


def parse_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    page = Page(path.name, text)
    for match in _FENCE.finditer(text):
        info = match.group(1).split()
        lang = info[0] if info else ""
        attrs = dict(token.split("=", 1) for token in info[1:] if "=" in token)
        words = [token for token in info[1:] if "=" not in token]
        kind = words[0] if words else ("file" if "file" in attrs else "")
        line = text.count("\n", 0, match.start()) + 1
        page.blocks.append(
            Block(path.name, line, lang, kind, attrs, set(words[1:]), match.group(2))
        )
    return page


def guide_pages() -> list[Page]:
    return [parse_page(path) for path in sorted(GUIDE.glob("*.md"))]


def blocks(kind: str) -> list[Block]:
    return [block for page in guide_pages() for block in page.blocks if block.kind == kind]


def by_id(kind: str) -> dict[str, Block]:
    found: dict[str, Block] = {}
    for block in blocks(kind):
        key = block.attrs.get("id")
        assert key, f"{block.where}: a {kind} block needs id="
        assert key not in found, f"{block.where}: {kind} id '{key}' is used twice"
        found[key] = block
    return found


def substitute(text: str, values: dict[str, str], where: str) -> str:
    """`<name>` replaced by its remembered value."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{where}: <{name}> is used before any answer gave it"
        return values[name]

    return _PLACEHOLDER.sub(value, text)


def _pattern(expected: str, values: dict[str, str]) -> re.Pattern[str]:
    parts, last = [], 0
    seen: set[str] = set()
    for match in _PLACEHOLDER.finditer(expected):
        parts.append(re.escape(expected[last : match.start()]))
        name = match.group(1)
        if name in values:
            parts.append(re.escape(values[name]))
        elif name in seen:
            parts.append(f"(?P={name})")
        else:
            parts.append(f"(?P<{name}>.+?)")
            seen.add(name)
        last = match.end()
    parts.append(re.escape(expected[last:]))
    return re.compile("".join(parts), re.S)


def match_text(expected: str, actual: str, values: dict[str, str], *, whole: bool) -> bool:
    """Match (whole string) or find `expected` in `actual`; remember its placeholders."""
    pattern = _pattern(expected, values)
    found = pattern.fullmatch(actual) if whole else pattern.search(actual)
    if found is None:
        return False
    values.update(found.groupdict())
    return True


def matches(expected: Any, actual: Any, values: dict[str, str]) -> bool:
    """`expected` is a subset of `actual`: dict keys it names, list items in order."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        trial = dict(values)
        for key, item in expected.items():
            if key not in actual or not matches(item, actual[key], trial):
                return False
        values.update(trial)
        return True
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        trial, position = dict(values), 0
        for item in expected:
            while position < len(actual):
                attempt = dict(trial)
                position += 1
                if matches(item, actual[position - 1], attempt):
                    trial = attempt
                    break
            else:
                return False
        values.update(trial)
        return True
    if isinstance(expected, str) and isinstance(actual, str):
        return match_text(expected, actual, values, whole=True)
    return bool(expected == actual and type(expected) is type(actual))


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str


def parse_request(block: Block, values: dict[str, str]) -> Request:
    text = substitute(block.text, values, block.where)
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.splitlines()
    method, path = first.split()
    headers = dict(line.split(": ", 1) for line in header_lines if line.strip())
    return Request(method, path, headers, body.strip())


def parse_response(block: Block) -> tuple[int, Any]:
    head, _, body = block.text.partition("\n\n")
    status = int(head.split()[1])
    return status, (json.loads(body) if body.strip() else None)


def commands(block: Block, values: dict[str, str]) -> list[list[str]]:
    return [
        shlex.split(substitute(line, values, block.where))
        for line in block.text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def error_line(error_type: str | None, message: str | None) -> str:
    """The error as the CLI prints it: `Type: message`, the type not repeated."""
    text = (message or "").strip().splitlines()[0] if message else ""
    if error_type and not text.startswith(error_type):
        text = f"{error_type}: {text}"
    return text
