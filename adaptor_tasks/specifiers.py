"""Adaptor specifiers as OpenFn writes them.

``@openfn/language-http@7.2.10``, ``@openfn/language-http@latest``, ``http``, ``common@3.3.4``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adaptor_tasks.errors import AdaptorNotFoundError

LATEST = "latest"
OPENFN_SCOPE = "@openfn/"

_NAME = re.compile(r"^@[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z.+^~<>=*|_ -]+$")
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class AdaptorSpec:
    """A parsed specifier; ``version`` may still be ``latest``, a dist-tag or a range."""

    name: str
    version: str = LATEST

    @property
    def is_exact(self) -> bool:
        """True when ``version`` names one release (``1.2.3``), not a tag or range."""
        return is_exact_version(self.version)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


def is_exact_version(version: str) -> bool:
    """True for a concrete semver version such as ``7.2.10``."""
    return bool(_EXACT_VERSION.match(version))


def parse_specifier(specifier: str) -> AdaptorSpec:
    """Parse a specifier, expanding OpenFn shorthand (``http`` -> ``@openfn/language-http``)."""
    text = specifier.strip()
    if text.startswith("@"):
        scoped_name, _, version = text[1:].partition("@")
        name = "@" + scoped_name
    else:
        name, _, version = text.partition("@")
        if name and "/" not in name:
            short = name if name.startswith("language-") else f"language-{name}"
            name = OPENFN_SCOPE + short
    version = version.strip() or LATEST
    if not _NAME.match(name):
        raise AdaptorNotFoundError(f"invalid adaptor name in {specifier!r}")
    if not _VERSION.match(version):
        raise AdaptorNotFoundError(f"invalid adaptor version in {specifier!r}")
    return AdaptorSpec(name=name, version=version)
