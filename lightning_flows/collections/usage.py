"""Whether a job uses collections, so the engine hands its step a collections token."""

from __future__ import annotations

import re

# Only decides whether a token is handed over (a false positive gives a step a
# token it never uses); the compiler decides the import with a real parser.
_USES = re.compile(r"\bcollections\b")


def uses_collections(body: str) -> bool:
    return bool(_USES.search(body))
