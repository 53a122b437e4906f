"""Targeted webhook cases (issue 13): content types, encodings, depth, size, numbers,
NUL. A webhook refuses what is not storable JSON with 4xx naming the field; it never
stores non-JSON and never answers 5xx (a 503 would make clients retry forever)."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from lightning_flows.core.config import get_settings
from lightning_flows.runs.models import Dataclip, Run
from lightning_flows.webhooks.lookup import clear_cache
from tests import factories

JSON = "application/json"


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def hook(session: Session, project):
    factories.make_workflow(session, project, trigger="webhook", custom_path="hostile")
    return "/i/hostile"


def _runs(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Run)).one())


REFUSED = [
    (JSON, b'{"a": NaN}', 422, "body.a: nan is not a JSON number"),
    (JSON, b'{"a": [1, Infinity]}', 422, "body.a[1]: inf is not a JSON number"),
    (JSON, b'{"name": 1e999}', 422, "body.name: inf is not a JSON number"),
    (JSON, b'{"a": "a\\u0000b"}', 422, "body.a: contains a NUL character"),
    (JSON, b'{"a\\u0000": 1}', 422, "a key contains a NUL character"),
    (JSON, b'{"a": "\\ud800"}', 422, "body.a: contains an unpaired UTF-16 surrogate"),
    (JSON, b'{"a": "\\udc00x"}', 422, "unpaired UTF-16 surrogate"),
    (JSON, b"[" * 500 + b"]" * 500, 422, "deeper than the 256-level limit"),
    (JSON, b"[" * 2_000 + b"]" * 2_000, 422, "deeper than the 256-level limit"),
    (JSON, b"[" * 10_000 + b"]" * 10_000, 422, "deeper than the 256-level limit"),
    (JSON, b'{"a": 1', 422, "The JSON body is invalid"),
    (JSON, b'{"n": 1' + b"0" * 5_000 + b"}", 422, "a number too long to read"),
    (JSON, b"\xff\xfe{", 422, "not valid UTF-8"),
    ("", b"not json", 415, "Send a Content-Type header"),
    ("application/x-www-form-urlencoded", b"a=1&b=x%00y", 422, "body.b: contains a NUL"),
    ("text/plain", b"nul \x00 here", 422, "body: contains a NUL character"),
    ("text/plain", b"\xc3\x28", 422, "not valid UTF-8"),
    ("application/xml", b"<a>\x00</a>", 422, "XML body is not well-formed"),
    ("application/octet-stream", b"\x00\x01", 415, "Unsupported content type"),
]


@pytest.mark.parametrize(("ctype", "raw", "status", "message"), REFUSED, ids=lambda v: str(v)[:30])
def test_unstorable_bodies_are_refused_and_nothing_is_stored(
    client: TestClient,
    session: Session,
    hook: str,
    ctype: str,
    raw: bytes,
    status: int,
    message: str,
) -> None:
    headers = {"content-type": ctype} if ctype else {}
    answer = client.post(hook, content=raw, headers=headers)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert _runs(session) == 0
    assert client.post(hook, json={"after": 1}).status_code == 200  # the writer goes on


def test_depth_at_the_limit_is_stored(client: TestClient, session: Session, hook: str) -> None:
    depth = get_settings().json_max_depth
    raw = b"[" * depth + b"]" * depth
    assert client.post(hook, content=raw, headers={"content-type": JSON}).status_code == 200
    raw = b"[" * (depth + 1) + b"]" * (depth + 1)
    assert client.post(hook, content=raw, headers={"content-type": JSON}).status_code == 422


def test_nul_in_the_query_or_path_is_not_a_5xx(
    client: TestClient, session: Session, hook: str
) -> None:
    answer = client.post(f"{hook}?x=a%00b", json={"a": 1})
    assert answer.status_code == 422 and "query.x: contains a NUL" in answer.json()["detail"]
    assert client.post("/i/hos%00tile", json={"a": 1}).status_code == 404
    assert client.get("/i/hos%00tile").status_code == 404
    assert _runs(session) == 0


def test_nul_in_a_multipart_field_is_refused(client: TestClient, hook: str) -> None:
    answer = client.post(hook, data={"note": "a\x00b"}, files={"f": ("f.bin", b"\x00\x01")})
    assert answer.status_code == 422 and "body.note" in answer.json()["detail"]
    binary = client.post(hook, files={"f": ("f.bin", b"\x00\x01")})
    assert binary.status_code == 200  # files are stored as base64: NUL bytes are fine


ACCEPTED = [
    ("application/json; charset=utf-8", json.dumps({"é": "ü", "n": 1.5e300}).encode()),
    (JSON, b"\xef\xbb\xbf" + b'{"bom": true}'),
    (JSON, json.dumps({"utf16": 1}).encode("utf-16")),
    ("application/vnd.api+json", b'{"data": {"type": "x"}}'),
    ("", b'{"no content type": 1}'),
    ("text/csv", b"a,b\n1,2\n"),
    ("application/x-www-form-urlencoded", b"a=1&a=2&b=%E2%9C%93"),
    ("application/xml", b"<a><b>1</b></a>"),
    (JSON, b'"a string"'),
    (JSON, b"[]"),
    (JSON, b"  "),
]


@pytest.mark.parametrize(("ctype", "raw"), ACCEPTED, ids=lambda v: str(v)[:30])
def test_storable_bodies_are_stored_as_json(
    client: TestClient, session: Session, hook: str, ctype: str, raw: bytes
) -> None:
    headers = {"content-type": ctype} if ctype else {}
    answer = client.post(hook, content=raw, headers=headers)
    assert answer.status_code == 200, answer.text
    session.expire_all()
    run = session.get(Run, uuid.UUID(answer.json()["run_id"]))
    clip = session.get(Dataclip, run.dataclip_id)  # type: ignore[union-attr]
    json.dumps(clip.body, allow_nan=False)  # type: ignore[union-attr]


def test_body_size_limit(client: TestClient, hook: str) -> None:
    limit = get_settings().webhook_max_body_bytes
    answer = client.post(hook, content=b"x" * (limit + 1), headers={"content-type": "text/plain"})
    assert answer.status_code == 413 and f"{limit:,}-byte limit" in answer.json()["detail"]


# --- property-based: whatever arrives, never a 5xx and never stored non-JSON ---------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=())),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/json; charset=utf-16",
        "text/plain; charset=latin-1",
    ]
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


def _stored_body(session: Session, answer) -> object:
    session.expire_all()
    run = session.get(Run, uuid.UUID(answer.json()["run_id"]))
    clip = session.get(Dataclip, run.dataclip_id)  # type: ignore[union-attr]
    return clip.body  # type: ignore[union-attr]


@FUZZ
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_any_json_value_is_stored_strictly_or_refused(
    client: TestClient, session: Session, hook: str, value: object, ascii_only: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    answer = client.post(hook, content=raw, headers={"content-type": JSON})
    assert answer.status_code in (200, 415, 422), (raw[:200], answer.text)
    if answer.status_code == 200:
        stored = json.dumps(_stored_body(session, answer), allow_nan=False)
        assert "\\u0000" not in stored


@FUZZ
@given(raw=st.binary(max_size=300), content_type=CONTENT_TYPES)
def test_any_bytes_with_any_content_type_are_never_a_5xx(
    client: TestClient, session: Session, hook: str, raw: bytes, content_type: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = client.post(hook, content=raw, headers=headers)
    assert answer.status_code in (200, 413, 415, 422), (raw, content_type, answer.text)
    if answer.status_code == 200:
        json.dumps(_stored_body(session, answer), allow_nan=False)
