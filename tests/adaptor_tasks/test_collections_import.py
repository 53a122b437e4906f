"""`collections.` in a job of any adaptor: imported from the bundled collections adaptor."""

from __future__ import annotations

from adaptor_tasks import AdaptorRef, NodePool, StepRequest


def test_an_undeclared_collections_is_imported_from_the_collections_adaptor(
    pool: NodePool, http: AdaptorRef
) -> None:
    result = pool.compile("collections.get('codes', $.data.code);\nfn(s => s);", http)
    assert result.ok, result
    assert 'import { collections } from "@openfn/language-collections";' in result.code
    assert 'import { fn } from "@openfn/language-http";' in result.code


def test_a_declared_collections_is_left_alone(pool: NodePool, common: AdaptorRef) -> None:
    result = pool.compile(
        "const collections = { n: 1 };\nfn(s => ({ ...s, n: collections.n }));", common
    )
    assert result.ok, result
    assert "language-collections" not in result.code


def test_the_step_links_the_collections_adaptor(pool: NodePool, common: AdaptorRef) -> None:
    """Without an endpoint the adaptor itself says what is missing: it was linked and ran."""
    result = pool.run_step(
        StepRequest(step_id="s", body="collections.get('codes', 'a');", adaptor=common, state={})
    )
    assert result.exit_reason == "fail", result
    assert "collections_endpoint not set" in (result.error_message or "")
