"""The job compiler: OpenFn's transforms, checked on compiled output and by running it."""

from __future__ import annotations

from adaptor_tasks import AdaptorRef, ExitReason, NodePool


def test_adds_imports_for_adaptor_operations_and_a_default_export(
    pool: NodePool, common: AdaptorRef
) -> None:
    result = pool.compile("fn(s => s);\neach('$.items[*]', fn(s => s));", common)
    assert result.ok, result
    assert result.imports == ("fn", "each")  # the adaptor's export order, as OpenFn's
    assert 'import { fn, each } from "@openfn/language-common";' in result.code
    assert "export default [fn(s => s), each('$.items[*]', fn(s => s))]" in " ".join(
        result.code.split()
    )


def test_moves_top_level_calls_in_source_order_and_keeps_declarations(
    pool: NodePool, common: AdaptorRef
) -> None:
    body = (
        "const label = 'x';\nfn(s => ({ ...s, first: label }));\nfunction helper() {}\nfn(s => s);"
    )
    result = pool.compile(body, common)
    assert result.ok, result
    code = result.code
    assert code.index("const label") < code.index("export default")
    assert code.index("function helper") < code.index("export default")
    assert code.index("first: label") < code.rindex("fn(s => s)")


def test_locally_declared_names_are_not_imported(pool: NodePool, common: AdaptorRef) -> None:
    result = pool.compile("const field = (k) => k;\nfn(s => ({ ...s, v: field('a') }));", common)
    assert result.ok, result
    assert result.imports == ("fn",)


def test_keeps_an_existing_default_export(pool: NodePool, common: AdaptorRef) -> None:
    result = pool.compile("export default [fn(s => s)];\nfn(s => s);", common)
    assert result.ok, result
    assert result.code.count("export default") == 1
    assert "export default [fn(s => s), fn(s => s)]" in result.code


def test_lazy_state_becomes_a_state_function(pool: NodePool, http: AdaptorRef) -> None:
    body = "get($.data.url, { headers: { 'x-id': $.data.id } });\nfn($);"
    result = pool.compile(body, http)
    assert result.ok, result
    code = " ".join(result.code.split())
    assert "get(state => state.data.url, state => ({ headers: { 'x-id': state.data.id } }))" in code
    assert "fn(state => state)" in result.code


def test_lazy_state_wraps_whole_template_and_logical_expressions(
    pool: NodePool, common: AdaptorRef
) -> None:
    result = pool.compile("fnIf($.data.ok && $.data.n > 1, fn(s => s));", common)
    assert result.ok, result
    assert "fnIf(state => state.data.ok && state.data.n > 1, fn(s => s))" in result.code


def test_lazy_state_runs(run_job) -> None:
    body = (
        "fnIf($.data.flag, fn(s => ({ ...s, flagged: true })));\n"
        "fnIf($.data.missing, fn(s => ({ ...s, wrong: true })));\n"
        "each($.data.items, fn(s => ({ ...s, seen: [...(s.seen || []), s.data.name] })));"
    )
    result = run_job(body, {"data": {"items": [{"name": "a"}, {"name": "b"}], "flag": True}})
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["seen"] == ["a", "b"]
    assert result.state["flagged"] is True
    assert "wrong" not in result.state


def test_lazy_state_outside_an_operation_is_a_compile_error(
    pool: NodePool, common: AdaptorRef
) -> None:
    result = pool.compile("fn(s => s);\nconst x = $.data;", common)
    assert not result.ok
    assert result.error_type == "CompileError"
    assert result.error_message == "Lazy State Error: Must be inside an operation (2:10)"
    assert (result.line, result.column) == (2, 11)


def test_lazy_state_in_a_callback_not_named_state_is_a_compile_error(
    pool: NodePool, common: AdaptorRef
) -> None:
    result = pool.compile("fn(s => $.data);", common)
    assert not result.ok
    assert result.error_message == (
        'Lazy State Error: parameter "s" should be called "state" (1:3)'
    )
    assert (result.line, result.column) == (1, 4)


def test_promise_chains_become_deferred_operations(pool: NodePool, http: AdaptorRef) -> None:
    result = pool.compile("get('/x').then(s => s).catch(e => { throw e; });", http)
    assert result.ok, result
    assert 'import { defer as _defer } from "@openfn/runtime";' in result.code
    assert "_defer(get('/x'), p => p.then(s => s).catch(e => { throw e; }))" in result.code


def test_leading_catch_becomes_the_error_handler(pool: NodePool, http: AdaptorRef) -> None:
    result = pool.compile("get('/x').catch((error, state) => state);", http)
    assert result.ok, result
    assert "_defer(get('/x'), undefined, (error, state) => state)" in result.code


def test_promise_chains_run(run_job) -> None:
    body = (
        "fn(s => ({ ...s, data: { n: 1 } })).then(s => ({ ...s, data: { n: s.data.n + 1 } }));\n"
        "fn(s => { throw new Error('nope'); })"
        ".catch((error, state) => ({ ...state, caught: error.message }));"
    )
    result = run_job(body)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["data"] == {"n": 2}
    assert result.state["caught"] == "nope"


def test_syntax_error_has_line_and_column(pool: NodePool, common: AdaptorRef) -> None:
    result = pool.compile("fn(s => {\n  return s;\n", common)
    assert not result.ok
    assert result.error_type == "CompileError"
    assert (result.error_message or "").startswith("SyntaxError:")
    assert result.line == 3
    assert result.column == 1


def test_modern_syntax_compiles(pool: NodePool, common: AdaptorRef) -> None:
    body = (
        "class Box { #value = 1; static size = 2; get value() { return this.#value; } }\n"
        "fn(async s => ({ ...s, v: s?.data?.v ?? new Box().value }));"
    )
    result = pool.compile(body, common)
    assert result.ok, result
    assert result.imports == ("fn",)
