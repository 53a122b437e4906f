"""Reading and writing project documents: strict loading, byte-stable YAML output.

Loading follows YAML 1.2 (the core schema, as OpenFn's `yaml` package reads
it): only `true`/`false` are booleans and nothing becomes a date, so a cron
`off`, a job named `yes` or a `2024-01-31` stay strings. It refuses duplicate
keys (PyYAML and `json` silently keep the last one, which would hide a
duplicated job). Dumping is deterministic: mappings keep
the order the exporter built, multi-line strings are literal blocks, and the
same document always gives the same bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from lightning_flows.core.errors import InvalidInput

_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML 1.2 loader that refuses a key repeated in one mapping, and aliases.

    PyYAML only knows YAML 1.1's implicit tags: this class starts from none and
    registers the 1.2 core schema's (below)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # replaced, not extended

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Aliases (`*name`) can expand a small document into a huge one: not in a spec."""
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise InvalidInput(f"line {line}: YAML aliases (*name) are not supported in a spec")
        return super().compose_node(parent, index)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise InvalidInput(f"line {line}: duplicate key '{key}'")
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # YAML 1.2: `010` is ten, not octal eight


def _construct_float(loader: _StrictLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if text == ".nan" else float(text)


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    _StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor(_INT, _construct_int)
_StrictLoader.add_constructor(_FLOAT, _construct_float)


def load_yaml(text: str | bytes) -> dict[str, Any]:
    """A YAML document that must be a mapping; InvalidInput naming the line otherwise."""
    try:
        # SafeConstructor only: plain data, no arbitrary objects.
        value = yaml.load(text, Loader=_StrictLoader)  # noqa: S506  # nosec B506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InvalidInput(f"Invalid YAML: {where}{exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"Invalid YAML: {exc}") from exc
    return _require_mapping(value)


def load_json(text: str | bytes) -> dict[str, Any]:
    """A JSON object, refusing duplicate keys."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise InvalidInput(f"Invalid JSON: duplicate key '{key}'")
            result[key] = value
        return result

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"Invalid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    return _require_mapping(value)


def _require_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("The project document must be a mapping (name, workflows, ...).")
    return value


class _StableDumper(yaml.SafeDumper):
    """Block style, literal blocks for multi-line text, indented lists."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_StableDumper.add_representer(str, _represent_str)


def dump_yaml(document: dict[str, Any]) -> str:
    """The document as YAML; identical input gives identical bytes."""
    return yaml.dump(
        document,
        Dumper=_StableDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=10_000,
    )
