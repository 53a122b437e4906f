"""The job compiler against the rules OpenFn's own compiler tests fix (OpenFn/kit
packages/compiler/test): lazy state, promises, top-level operations, default
export and adaptor imports, checked on compiled output and on the real runtime."""

from __future__ import annotations

import pytest

from adaptor_tasks import AdaptorRef, ExitReason, NodePool


def compiled(pool: NodePool, adaptor: AdaptorRef, body: str) -> str:
    result = pool.compile(body, adaptor)
    assert result.ok, result
    assert result.code is not None
    return " ".join(result.code.split())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("get($.data)", "get(state => state.data)"),
        ("get($.a.b.c.d)", "get(state => state.a.b.c.d)"),
        ("get(a.b.c.d)", "get(a.b.c.d)"),
        ("get(`hello ${$.data}`)", "get(state => `hello ${state.data}`)"),
        ("get(`hi ${$.first} ${$.last}`)", "get(state => `hi ${state.first} ${state.last}`)"),
        ("get(state => `hello ${$.data}`)", "get(state => `hello ${state.data}`)"),
        ('get($.first + " " + $.last)', 'get(state => state.first + " " + state.last)'),
        ("get(city[$.location])", "get(state => city[state.location])"),
        ('get("$.a.b")', 'get("$.a.b")'),
        ("fn(() => { get($.data) })", "fn(() => { get(state => state.data) })"),
        ("fn(() => helper($.x))", "fn(() => helper(state => state.x))"),
        ("fn(($) => { return $.a.b; })", "fn(($) => { return $.a.b; })"),
        ("get($.a?.b.c)", "get(state => state.a?.b.c)"),
        ("get(!$.data.x)", "get(state => !state.data.x)"),
        ("fn($.callMe())", "fn(state => state.callMe())"),
        ("fn($.callMe($.age))", "fn(state => state.callMe(state.age))"),
        (
            "const x = { x: $.data };\nfn($.data)",
            "const x = { x: $.data }; export default [fn(state => state.data)]",
        ),
    ],
)
def test_lazy_state_rules(pool: NodePool, http: AdaptorRef, body: str, expected: str) -> None:
    assert expected in compiled(pool, http, body)


@pytest.mark.parametrize(
    ("body", "message", "where"),
    [
        ("get((s) => `hello ${$.data}`)", 'parameter "s" should be called "state" (1:4)', (1, 5)),
        ("get((state, b) => `${$.data}`)", "parent has wrong arity (1:4)", (1, 5)),
        ("const x = $.data;", "Must be inside an operation (1:10)", (1, 11)),
        ("$.data = 20;", "Must be inside an operation (1:0)", (1, 1)),
        ("fn(() => { $.data = 20; })", "Must be inside an operation (1:11)", (1, 12)),
        ("const z = $.data = 20;", "Must be inside an operation (1:10)", (1, 11)),
    ],
)
def test_lazy_state_errors_name_the_position(
    pool: NodePool, http: AdaptorRef, body: str, message: str, where: tuple[int, int]
) -> None:
    result = pool.compile(body, http)
    assert not result.ok
    assert result.error_type == "CompileError"
    assert result.error_message == f"Lazy State Error: {message}"
    assert (result.line, result.column) == where


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fn(x).then(() => {})", "_defer(fn(x), p => p.then(() => {}))"),
        ("fn(x).catch((e) => e)", "_defer(fn(x), undefined, (e) => e)"),
        (
            "fn(x).then((e) => e).then((e) => e)",
            "_defer(fn(x), p => p.then((e) => e).then((e) => e))",
        ),
        ("fn(x).catch((e) => e).then((s) => s)", "_defer(fn(x), p => p.then((s) => s), (e) => e)"),
        (
            "fn(x).catch((e) => e).then((s) => s).catch(e => e)",
            "_defer(fn(x), p => p.then((s) => s).catch(e => e), (e) => e)",
        ),
        ("fn(get(x).then(s => s));", "fn(_defer(get(x), p => p.then(s => s)))"),
        (
            "fn(get(x).then(s => s), post(x).then(s => s));",
            "fn(_defer(get(x), p => p.then(s => s)), _defer(post(x), p => p.then(s => s)))",
        ),
        (
            'each("$.data[*]", post("/u", (state) => state.data).then((s) => s))',
            'each("$.data[*]", _defer(post("/u", (state) => state.data), p => p.then((s) => s)))',
        ),
        (
            "fn((state) => { return get().then((s) => s) });",
            "fn((state) => { return get().then((s) => s) })",
        ),
    ],
)
def test_promise_chains_outside_functions_are_deferred(
    pool: NodePool, http: AdaptorRef, body: str, expected: str
) -> None:
    assert expected in compiled(pool, http, body)


def test_defer_is_imported_once_after_existing_imports(pool: NodePool, http: AdaptorRef) -> None:
    code = compiled(pool, http, "import x from 'y';\nfn(x).then(s => s);\nfn(x).then(s => s);")
    assert code.count("@openfn/runtime") == 1
    assert code.index("from 'y'") < code.index('import { defer as _defer } from "@openfn/runtime"')


def test_imports_follow_the_adaptor_export_order(pool: NodePool, common: AdaptorRef) -> None:
    # language-common declares execute, fn, fnIf, ..., each, ..., log in that order.
    result = pool.compile("log('x');\neach($.items, fn(s => s));\nfnIf(true, fn(s => s));", common)
    assert result.ok, result
    assert result.imports == ("fn", "fnIf", "each", "log")


def test_names_in_top_level_object_literals_are_not_imported(
    pool: NodePool, common: AdaptorRef
) -> None:
    result = pool.compile("const ops = { each, fn: other };\nfn(s => s);", common)
    assert result.ok, result
    assert result.imports == ("fn",)


def test_top_level_calls_move_into_the_export_and_declarations_stay(
    pool: NodePool, common: AdaptorRef
) -> None:
    code = compiled(pool, common, "fn(s => s);\nconst x = 1;\nfn(s => s);")
    assert "export default [fn(s => s), fn(s => s)]" in code
    assert "const x = 1" in code


def test_nested_promise_docs_pattern_runs(run_job) -> None:
    """OpenFn's docs pattern: a deferred operation inside `each`."""
    body = (
        "each($.data.patients, fn(s => ({ ...s, seen: (s.seen || 0) + 1 }))"
        ".then(s => ({ ...s, names: [...(s.names || []), s.data.name] })));"
    )
    state = {"data": {"patients": [{"name": "Ana"}, {"name": "Ben"}]}}
    result = run_job(body, state)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["names"] == ["Ana", "Ben"]
    assert result.state["seen"] == 2


def test_lazy_state_in_nested_calls_and_templates_runs(run_job) -> None:
    body = (
        "const value = (v, s) => (typeof v === 'function' ? v(s) : v);\n"
        "const greet = (v) => (s) => ({ ...s, greeting: `hi ${value(v, s)}` });\n"
        "fn(s => greet($.data.name)(s));\n"
        "fn(state => ({ ...state, shout: `${$.data.name}!` }));"
    )
    result = run_job(body, {"data": {"name": "Ana"}})
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["greeting"] == "hi Ana"
    assert result.state["shout"] == "Ana!"
