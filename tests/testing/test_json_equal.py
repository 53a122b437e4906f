"""Expected data is compared as JavaScript would compare JSON values."""

from lightning_flows.testing.runner import json_diff, json_equal


def test_json_equal_tells_booleans_from_numbers() -> None:
    assert json_equal({"a": [1, {"b": True}]}, {"a": [1.0, {"b": True}]})
    assert not json_equal({"ok": True}, {"ok": 1})
    assert not json_equal([0], [False])
    assert not json_equal({"a": 1}, {"a": 1, "b": None})
    assert not json_equal([1, 2], [1])
    assert not json_equal({"a": [1]}, {"a": {"0": 1}})
    assert json_equal(None, None) and not json_equal(None, {})


def test_the_diff_names_expected_and_actual() -> None:
    diff = json_diff({"id": 5, "ok": True}, {"id": 5, "ok": False}).splitlines()
    assert diff[:2] == ["--- expected data", "+++ actual data"]
    assert '-  "ok": true' in diff and '+  "ok": false' in diff
