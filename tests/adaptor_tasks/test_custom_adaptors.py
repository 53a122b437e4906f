"""Adaptor packages written here: worker death, extension-less imports, the worker environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adaptor_tasks import AdaptorRef, ExitReason, NodePool, StepRequest

ADAPTOR_SOURCE = """
import { describe } from './describe';

export function fn(f) {
  return (state) => f(state);
}

export function exitNow(code) {
  return () => process.exit(code);
}

export function envNames() {
  return (state) => ({ ...state, data: { names: Object.keys(process.env) } });
}

export function label() {
  return (state) => ({ ...state, data: { label: describe(state) } });
}
"""


@pytest.fixture(scope="module")
def test_adaptor(tmp_path_factory: pytest.TempPathFactory) -> AdaptorRef:
    package_dir = tmp_path_factory.mktemp("adaptor") / "language-test"
    package_dir.mkdir()
    manifest = {
        "name": "@test/language-test",
        "version": "1.0.0",
        "type": "module",
        "exports": {".": {"import": "./index.js"}},
    }
    (package_dir / "package.json").write_text(json.dumps(manifest))
    (package_dir / "index.js").write_text(ADAPTOR_SOURCE)
    (package_dir / "describe.js").write_text(
        "export const describe = (s) => `keys:${Object.keys(s)}`;\n"
    )
    return AdaptorRef(name="@test/language-test", version="1.0.0", path=Path(package_dir))


@pytest.fixture(scope="module")
def own_pool() -> Iterator[NodePool]:
    with NodePool(size=1, step_timeout_s=10, env={"EXTRA_FOR_WORKERS": "1"}) as pool:
        yield pool


def test_a_worker_that_exits_ends_the_step_as_crash_and_is_replaced(
    own_pool: NodePool, test_adaptor: AdaptorRef
) -> None:
    result = own_pool.run_step(
        StepRequest(step_id="s", body="exitNow(7);", adaptor=test_adaptor, state={})
    )
    assert result.exit_reason is ExitReason.CRASH
    assert result.error_type == "ExitError"
    assert "exit code 7" in (result.error_message or "")
    again = own_pool.run_step(
        StepRequest(step_id="s", body="fn(s => ({ ok: true }));", adaptor=test_adaptor, state={})
    )
    assert again.exit_reason is ExitReason.SUCCESS, again
    assert again.state == {"ok": True}


def test_extensionless_relative_imports_in_an_adaptor_work(
    own_pool: NodePool, test_adaptor: AdaptorRef
) -> None:
    result = own_pool.run_step(
        StepRequest(step_id="s", body="label();", adaptor=test_adaptor, state={"data": {}})
    )
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["data"] == {"label": "keys:data,configuration"}


def test_workers_do_not_inherit_the_platform_environment(
    own_pool: NodePool, test_adaptor: AdaptorRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = own_pool.run_step(
        StepRequest(step_id="s", body="envNames();", adaptor=test_adaptor, state={})
    )
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    names = set(result.state["data"]["names"])
    assert "PATH" in names
    assert "EXTRA_FOR_WORKERS" in names
    assert not any(name.startswith(("LIGHTNING_", "PREFECT_")) for name in names)


def test_logs_stream_to_a_callback_as_they_arrive(pool: NodePool, common: AdaptorRef) -> None:
    seen: list[str] = []
    body = (
        "fn(s => { console.log('one'); return s; });\nfn(s => { console.log('two'); return s; });"
    )
    result = pool.run_step(
        StepRequest(step_id="s", body=body, adaptor=common, state={}),
        on_log=lambda entry: seen.append(entry.message),
    )
    assert result.exit_reason is ExitReason.SUCCESS
    assert seen == [entry.message for entry in result.logs]
    assert seen.index("one") < seen.index("two")


def test_warm_up_starts_every_worker(common: AdaptorRef) -> None:
    with NodePool(size=2, preload=[common]) as pool:
        pool.warm_up()
        result = pool.run_step(
            StepRequest(step_id="s", body="fn(s => s);", adaptor=common, state={})
        )
        assert result.exit_reason is ExitReason.SUCCESS
