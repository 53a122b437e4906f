"""Adaptor packages written here: worker death, extension-less imports, the worker environment."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
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


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_end_themselves_when_their_python_process_dies(
    common: AdaptorRef, tmp_path: Path
) -> None:
    """A killed worker process must not leave Node processes spinning on a stuck job."""
    script = tmp_path / "owner.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, threading, time
            from pathlib import Path
            from adaptor_tasks import AdaptorRef, NodePool, StepRequest
            common = AdaptorRef({common.name!r}, {common.version!r}, Path({str(common.path)!r}))
            pool = NodePool(size=1, step_timeout_s=600)
            stuck = StepRequest("s", "fn(s => {{ while (true) {{}} }});", common, {{}})
            threading.Thread(target=pool.run_step, args=(stuck,), daemon=True).start()
            time.sleep(3)  # the job is spinning now
            print([s.process.pid for s in pool._slots._slots if s.process][0], flush=True)
            os._exit(1)  # no cleanup, as when the process is killed
            """
        )
    )
    owner = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    node_pid = int(owner.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _running(node_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(node_pid), "the orphaned Node worker kept running"
