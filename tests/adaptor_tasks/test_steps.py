"""Running job steps with @openfn/language-common: OpenFn's step semantics."""

from __future__ import annotations

from datetime import UTC

from adaptor_tasks import AdaptorRef, ExitReason, NodePool, StepRequest, StepResult


def job_messages(result: StepResult) -> list[str]:
    return [entry.message for entry in result.logs if entry.source == "JOB"]


def test_fn_transforms_state(run_job) -> None:
    result = run_job(
        "fn(state => ({ ...state, data: { doubled: state.data.n * 2 } }));", {"data": {"n": 21}}
    )
    assert result.exit_reason is ExitReason.SUCCESS
    assert result.error_type is None
    assert result.state == {"data": {"doubled": 42}}
    assert result.duration_ms > 0


def test_state_passes_through_operations_and_configuration_is_removed(run_job) -> None:
    state = {
        "data": {"a": 1},
        "references": [{"x": 1}],
        "configuration": {"username": "u", "password": "secret"},
        "response": {"status": 200},
    }
    body = (
        "fn(s => ({ ...s, data: { ...s.data, b: 2 } }));\n"
        "fn(s => ({ ...s, data: { ...s.data, seen: s.configuration.password == 'secret' } }))"
    )
    result = run_job(body, state)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state == {"data": {"a": 1, "b": 2, "seen": True}, "references": [{"x": 1}]}


def test_each_runs_an_operation_per_item(run_job) -> None:
    body = "each('$.data.items[*]', fn(s => { console.log('item', s.data.name); return s; }));"
    result = run_job(body, {"data": {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}})
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert job_messages(result) == ["item a", "item b", "item c"]


def test_fn_if_and_data_value(run_job) -> None:
    body = (
        "fnIf(state => state.data.age > 18, fn(s => ({ ...s, adult: true })));\n"
        "fn(s => ({ ...s, name: dataValue('person.name')(s) }));"
    )
    result = run_job(body, {"data": {"age": 20, "person": {"name": "Ada"}}})
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["adult"] is True
    assert result.state["name"] == "Ada"


def test_console_in_the_job_is_a_job_log_line(run_job) -> None:
    result = run_job(
        "fn(s => { console.log('hello', { n: 1 }); console.warn('careful'); return s; });"
    )
    job_logs = [entry for entry in result.logs if entry.source == "JOB"]
    assert [(e.level, e.message) for e in job_logs] == [
        ("info", 'hello {\n  "n": 1\n}'),
        ("warn", "careful"),
    ]
    assert all(e.timestamp.tzinfo is UTC for e in job_logs)
    assert any(e.source == "R/T" and "Starting step" in e.message for e in result.logs)


def test_console_log_of_state_hides_configuration(run_job) -> None:
    result = run_job(
        "fn(s => { console.log(s); return s; });",
        {"data": {}, "configuration": {"password": "hunter2"}},
    )
    assert result.exit_reason is ExitReason.SUCCESS
    assert not any("hunter2" in message for message in job_messages(result))


def test_adaptor_console_output_is_an_ada_log_line(run_job) -> None:
    result = run_job("log('from the adaptor');")
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert any(e.source == "ADA" and e.message == "from the adaptor" for e in result.logs)


def test_a_throwing_job_fails_and_records_the_error_in_state(run_job) -> None:
    result = run_job(
        "fn(s => ({ ...s, data: { before: true } }));\nfn(s => { throw new Error('boom'); });",
        {"data": {}, "configuration": {"password": "x"}},
        step_id="step-a",
    )
    assert result.exit_reason is ExitReason.FAIL
    assert result.error_type == "JobError"
    assert result.error_message == "boom"
    assert result.state is not None
    assert "configuration" not in result.state
    assert result.state["errors"]["step-a"]["message"] == "boom"
    assert result.state["errors"]["step-a"]["severity"] == "fail"


def test_a_type_error_fails_with_its_line(run_job) -> None:
    result = run_job("fn(s => s);\nfn(s => s.missing.deeper);", step_id="s")
    assert result.exit_reason is ExitReason.FAIL
    assert result.error_type == "TypeError"
    assert result.error_line == 2
    assert result.state is not None and "s" in result.state["errors"]


def test_a_syntax_error_crashes(run_job) -> None:
    result = run_job("fn(s => {\n  return s\n")
    assert result.exit_reason is ExitReason.CRASH
    assert result.error_type == "CompileError"
    assert result.error_line == 3
    assert result.state is None


def test_an_unknown_operation_crashes_with_reference_error(run_job) -> None:
    result = run_job("fn(s => s);\nnotAnOperation('x');")
    assert result.exit_reason is ExitReason.CRASH
    assert result.error_type == "ReferenceError"
    assert "notAnOperation is not defined" in (result.error_message or "")


def test_importing_a_module_other_than_the_adaptor_crashes(run_job) -> None:
    result = run_job("import fs from 'fs';\nfn(s => s);")
    assert result.exit_reason is ExitReason.CRASH
    assert result.error_type == "ImportError"


def test_process_exit_cannot_kill_the_worker(run_job) -> None:
    result = run_job("fn(s => { process.exit(1); });")
    assert result.exit_reason is ExitReason.CRASH
    assert result.error_type == "ReferenceError"
    assert "process is not defined" in (result.error_message or "")
    assert run_job("fn(s => s);").exit_reason is ExitReason.SUCCESS


def test_host_function_constructor_escape_is_blocked(run_job) -> None:
    result = run_job("fn(s => { setTimeout.constructor('return process')().exit(3); return s; });")
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "SecurityError"
    assert run_job("fn(s => s);").exit_reason is ExitReason.SUCCESS


def test_eval_is_refused(run_job) -> None:
    result = run_job("fn(s => { eval('1 + 1'); return s; });")
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "SecurityError"


def test_a_job_returning_nothing_succeeds_without_state_and_says_why(run_job) -> None:
    result = run_job("fn(s => { s.data.x = 1; });")
    assert result.exit_reason is ExitReason.SUCCESS
    assert result.state is None
    assert any(
        e.level == "warn" and "did not return a state object" in e.message for e in result.logs
    )


def test_a_job_returning_a_non_object_fails_with_a_clear_message(run_job) -> None:
    result = run_job(
        "fn(s => 42);", {"data": {"keep": 1}, "configuration": {"k": "v"}}, step_id="s"
    )
    assert result.exit_reason is ExitReason.FAIL
    assert "instead of a state object" in (result.error_message or "")
    assert result.state is not None
    assert result.state["data"] == {"keep": 1}
    assert "configuration" not in result.state
    assert result.state["errors"]["s"]["type"] == "JobError"


def test_async_operations_and_timers_work(run_job) -> None:
    body = "fn(s => new Promise(resolve => setTimeout(() => resolve({ ...s, waited: true }), 20)));"
    result = run_job(body)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None and result.state["waited"] is True


def test_adaptor_module_state_is_shared_within_a_run_never_between_runs(
    common: AdaptorRef,
) -> None:
    # OpenFn's runtime caches adaptor modules between the jobs of one workflow run
    # (its cacheKey), never between runs: a job mutating the adaptor's exports
    # is seen by the next step of its run only.
    leak = (
        "fn(s => { fn.leaked = (fn.leaked ?? 0) + 1; return { ...s, data: { v: fn.leaked } }; });"
    )
    with NodePool(size=1, step_timeout_s=20) as pool:  # one process: every step meets it

        def run(cache_key: str | None) -> StepResult:
            request = StepRequest("s", leak, common, {"data": {}}, cache_key=cache_key)
            return pool.run_step(request)

        results = [run("run-a"), run("run-a"), run("run-b"), run(None)]
    assert results[0].exit_reason is ExitReason.SUCCESS, results[0]
    assert [r.state["data"]["v"] for r in results] == [1, 2, 1, 1]
