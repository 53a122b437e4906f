"""Edge conditions (js_expression) evaluated in a restricted sandbox."""

from __future__ import annotations

import pytest

from adaptor_tasks import ConditionError, NodePool


def test_true_and_false(pool: NodePool) -> None:
    state = {"data": {"age": 20}}
    assert pool.evaluate_condition("state.data.age > 18", state) is True
    assert pool.evaluate_condition("state.data.age > 30", state) is False


def test_truthiness_and_errors_checks(pool: NodePool) -> None:
    assert pool.evaluate_condition("!state.errors", {"data": {}}) is True
    assert pool.evaluate_condition("!state.errors", {"errors": {"a": {}}}) is False
    assert pool.evaluate_condition("state.data.items", {"data": {"items": []}}) is True


def test_upstream_step_id_is_available(pool: NodePool) -> None:
    state = {"errors": {"step-a": {"message": "x"}}}
    assert pool.evaluate_condition("Boolean(state.errors[upstreamStepId])", state, "step-a") is True


def test_a_throwing_condition_raises(pool: NodePool) -> None:
    with pytest.raises(ConditionError, match="Cannot read properties of undefined"):
        pool.evaluate_condition("state.data.missing.deeper", {"data": {}})


def test_a_syntax_error_raises(pool: NodePool) -> None:
    with pytest.raises(ConditionError, match="Invalid edge condition"):
        pool.evaluate_condition("state.data.(", {"data": {}})


def test_an_endless_condition_times_out(pool: NodePool) -> None:
    with pytest.raises(ConditionError, match="timed out"):
        pool.evaluate_condition("(() => { while (true) {} })()", {})


def test_the_sandbox_has_no_process_require_or_eval(pool: NodePool) -> None:
    assert pool.evaluate_condition(
        "typeof process === 'undefined' && typeof require === 'undefined'", {}
    )
    with pytest.raises(ConditionError):
        pool.evaluate_condition("eval('1')", {})
    with pytest.raises(ConditionError):
        pool.evaluate_condition("state.constructor.constructor('return process')()", {})
