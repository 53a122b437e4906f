"""Property-based testing of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, each sent as a user of one of the roles
(round robin: outsider, viewer, editor, admin, owner, superuser) against a project
with a workflow, a run and a credential; half the cases use that world's real ids
in the path. Checks: no 5xx, every status documented, every body matching its
declared schema and content type.

Bounded for `make test`: LIGHTNING_FUZZ_EXAMPLES per operation (default 6), no
deadline. A failure prints the seed (rerun with LIGHTNING_FUZZ_SEED=<seed>) and the
failing request as a curl command.
"""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from lightning_flows.api.app import create_app
from tests.api.test_policy_matrix import build_world

SEED = int(os.environ.get("LIGHTNING_FUZZ_SEED") or random.randrange(2**32))  # nosec B311
EXAMPLES = int(os.environ.get("LIGHTNING_FUZZ_EXAMPLES", "6"))
ROLES = ("outsider", "viewer", "editor", "admin", "owner", "superuser")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


def _known_ids(world: Any) -> dict[str, str]:
    ids = {name: str(value) for name, value in world.ids.items()}
    ids["user_id"] = ids["viewer_id"]
    ids["key"] = ids["trigger_id"]
    ids["token_id"] = str(world.token_ids["editor"])
    return ids


@pytest.fixture
def world(session: Session) -> Any:
    return build_world(session)


@schema.parametrize()
@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: Any, world: Any) -> None:
    turn = next(_turns)
    role = ROLES[turn % len(ROLES)]
    if turn % 2 == 0 and case.path_parameters:
        known = _known_ids(world)
        case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    try:
        case.call_and_validate(headers=headers, checks=CHECKS)
    except Exception as exc:
        print(f"FUZZ FAILURE: seed {SEED}; role {role}; {case.as_curl_command(headers=headers)}")
        raise AssertionError(
            f"fuzz seed {SEED} (rerun: LIGHTNING_FUZZ_SEED={SEED}); role {role}; "
            f"failing request:\n{case.as_curl_command(headers=headers)}\n{exc}"
        ) from exc


_turns = itertools.count()
