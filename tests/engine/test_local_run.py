"""Local runs (`lightning-flows run`'s engine): real Node, no server, database or Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adaptor_tasks import NodePool
from lightning_flows.engine.execution_plan import ExecutionPlan, PlanStep
from lightning_flows.engine.local import (
    LocalRunError,
    assemble_state,
    load_plan,
    read_json_object,
    run_local,
)

JOB = """
fn(state => ({ ...state, references: [] }));
each('$.data.items[*]', fn(state => { state.references.push(state.data.n * 2); return state; }));
fn(state => ({ ...state, last: dataValue('n')(state), data: { doubled: state.references } }));
each($.data.doubled, fn(state => ({ ...state, count: (state.count || 0) + 1 })));
fn(state => { console.log('counted', state.count); return state; });
fn(state => ({ data: { doubled: state.references, last: state.last, count: state.count } }));
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[NodePool]:
    """One warm Node process for the module (run_local starts its own when given none)."""
    with NodePool(1, step_timeout_s=20, memory_limit_mb=256) as node_pool:
        warm_up = PlanStep(id="warm-up", name="warm-up", adaptor="common", body="fn(s => s);")
        run_local(
            ExecutionPlan(steps={"warm-up": warm_up}, edges=[], start="warm-up"), {}, pool=node_pool
        )
        yield node_pool


def write_plan(tmp_path: Path, steps: list[dict], **options: str) -> Path:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps({"workflow": {"steps": steps}, "options": options}))
    return path


def branching_plan(tmp_path: Path) -> Path:
    """webhook -> extract -(success)-> transform -(js)-> big | small; extract -(fail)-> rescue."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "extract.js").write_text(
        "fn(s => { if (s.data.value === undefined) throw new Error('no value'); return s; });"
    )
    transform = (
        "fn(s => { if (s.data.value < 0) throw new TypeError('bad input');"
        " return { ...s, data: { doubled: s.data.value * 2 } }; });"
    )
    return write_plan(
        tmp_path,
        [
            {"id": "webhook", "next": {"extract": True}},
            {
                "id": "extract",
                "expression": "jobs/extract.js",
                "next": {"transform": "on_job_success", "rescue": {"condition": "on_job_failure"}},
            },
            {
                "id": "transform",
                "expression": transform,
                "next": {"big": "state.data.doubled > 10", "small": "state.data.doubled <= 10"},
            },
            {
                "id": "big",
                "adaptor": "@openfn/language-common@3.3.4",
                "configuration": {"apiKey": "k3y-for-big-only"},
                "expression": "fn(s => { console.log('key', s.configuration.apiKey);"
                " return { ...s, data: { ...s.data, size: 'big' } }; });",
            },
            {
                "id": "small",
                "adaptor": "common",
                "state": {"data": {"unit": "kg", "doubled": -1}},
                "expression": "fn(s => ({ ...s, data: { ...s.data, size: 'small' } }));",
            },
            {
                "id": "rescue",
                "expression": "fn(s => ({ data: { rescued: Object.keys(s.errors) } }));",
            },
        ],
    )


def executed(run) -> list[str]:
    return [node for node, _ in run.walk.executed]


def test_job_with_common_operations_and_lazy_state(tmp_path: Path, pool: NodePool) -> None:
    job = tmp_path / "job.js"
    job.write_text(JOB)
    seen: list[str] = []
    run = run_local(
        load_plan(job),
        {"data": {"items": [{"n": 1}, {"n": 2}, {"n": 5}]}},
        on_log=lambda e: seen.append(f"{e.source} {e.message}"),
        pool=pool,
    )
    assert run.walk.state == "success", run.walk
    assert run.output == {"data": {"doubled": [2, 4, 10], "last": 5, "count": 3}}
    assert "JOB counted 3" in seen
    assert [f"{e.source} {e.message}" for e in run.logs] == seen


def test_workflow_success_path_js_edges_and_step_configuration(
    tmp_path: Path, pool: NodePool
) -> None:
    run = run_local(load_plan(branching_plan(tmp_path)), {"data": {"value": 7}}, pool=pool)
    assert run.walk.state == "success"
    assert executed(run) == ["extract", "transform", "big"]
    assert run.output == {"data": {"doubled": 14, "size": "big"}}
    messages = [e.message for e in run.logs]
    assert "key ***" in messages and not any("k3y-for-big-only" in m for m in messages)


def test_step_state_defaults_sit_under_the_incoming_state(tmp_path: Path, pool: NodePool) -> None:
    run = run_local(load_plan(branching_plan(tmp_path)), {"data": {"value": 2}}, pool=pool)
    assert executed(run) == ["extract", "transform", "small"]
    assert run.output == {"data": {"unit": "kg", "doubled": 4, "size": "small"}}


def test_on_job_failure_path_recovers_the_run(tmp_path: Path, pool: NodePool) -> None:
    run = run_local(load_plan(branching_plan(tmp_path)), {"data": {}}, pool=pool)
    assert executed(run) == ["extract", "rescue"]
    assert run.walk.state == "success"
    assert run.output == {"data": {"rescued": ["extract"]}}


def test_a_failing_leaf_fails_the_run(tmp_path: Path, pool: NodePool) -> None:
    run = run_local(load_plan(branching_plan(tmp_path)), {"data": {"value": -3}}, pool=pool)
    assert executed(run) == ["extract", "transform"]
    assert run.walk.state == "failed" and run.walk.error_type == "TypeError"
    assert run.failed_step == "transform"
    assert run.output is not None and "transform" in run.output["errors"]


def test_start_option_and_several_leaves(tmp_path: Path, pool: NodePool) -> None:
    plan = write_plan(
        tmp_path,
        [
            {"id": "a", "expression": "fn(s => s);", "next": {"b": True, "c": True}},
            {"id": "b", "expression": "fn(s => ({ data: { from: 'b' } }));"},
            {"id": "c", "expression": "fn(s => ({ data: { from: 'c' } }));"},
        ],
    )
    run = run_local(load_plan(plan), {"configuration": {"token": "t0ken"}}, pool=pool)
    assert run.output == {"b": {"data": {"from": "b"}}, "c": {"data": {"from": "c"}}}
    started_at_c = run_local(load_plan(plan, start="c"), {}, pool=pool)
    assert executed(started_at_c) == ["c"]


def test_crash_and_timeout_end_the_run(tmp_path: Path, pool: NodePool) -> None:
    job = tmp_path / "broken.js"
    job.write_text("fn(state => { state.x = ; });")
    crashed = run_local(load_plan(job), {}, pool=pool)
    assert (crashed.walk.state, crashed.walk.error_type) == ("crashed", "CompileError")
    assert crashed.failed_step == "broken" and crashed.output is None
    job.write_text("fn(() => new Promise(() => {}));")
    killed = run_local(load_plan(job), {}, pool=pool, timeout_s=0.5)
    assert (killed.walk.state, killed.walk.error_type) == ("killed", "TimeoutError")


def test_a_throwing_edge_condition_crashes_the_run(tmp_path: Path, pool: NodePool) -> None:
    plan = write_plan(
        tmp_path,
        [
            {"id": "a", "expression": "fn(s => s);", "next": {"b": "state.data.nope.x"}},
            {"id": "b", "expression": "fn(s => s);"},
        ],
    )
    run = run_local(load_plan(plan), {"data": {}}, pool=pool)
    assert (run.walk.state, run.walk.error_type) == ("crashed", "EdgeConditionError")
    assert "'a -> b'" in (run.walk.error_message or "")
    assert run.output is None and run.failed_step is None


def test_assemble_state_follows_the_runtime() -> None:
    incoming = {"data": {"a": 1}, "configuration": {"user": "u", "password": "p"}}
    assembled = assemble_state(incoming, {"password": "q"}, {"data": {"a": 0, "b": 2}, "x": 1})
    assert assembled == {
        "data": {"a": 1, "b": 2},
        "x": 1,
        "configuration": {"user": "u", "password": "q"},
    }
    assert assemble_state({"data": [1]}, None, {"data": {"b": 2}}) == {"data": [1]}
    assert incoming == {"data": {"a": 1}, "configuration": {"user": "u", "password": "p"}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ('{\n  "data": [1,,]\n}', "line 2, column 14"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_bad_json_files(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LocalRunError, match=message):
        read_json_object(path, "state file")


def test_bad_plans(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "a", "expression": "fn(s => s);", "next": {"zz": True}}])
    with pytest.raises(LocalRunError, match="unknown step 'zz'"):
        load_plan(plan)
    plan = write_plan(tmp_path, [{"id": "a", "expression": "missing.js"}])
    with pytest.raises(LocalRunError, match="Expression file not found"):
        load_plan(plan)
    plan = write_plan(tmp_path, [{"id": "a", "expression": "fn(s => s);"}])
    with pytest.raises(LocalRunError, match="no step 'b' to start from"):
        load_plan(plan, start="b")


def imported_packages(module: str) -> set[str]:
    """Top-level packages loaded by importing `module` in a fresh interpreter."""
    code = f"import sys, {module}; print(' '.join({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.slow
def test_imports_neither_prefect_nor_the_database() -> None:
    assert not {"prefect", "sqlalchemy", "sqlmodel"} & imported_packages("lightning_flows.cli.run")
    assert "prefect" not in imported_packages("lightning_flows.cli.main")
