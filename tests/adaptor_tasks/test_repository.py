"""Adaptor specifiers, the bundled adaptors, and installing other versions from npm."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adaptor_tasks import AdaptorNotFoundError, ExitReason, NodePool, StepRequest
from adaptor_tasks.repository import AdaptorRepository
from adaptor_tasks.specifiers import AdaptorSpec, parse_specifier

BUNDLED = Path(__file__).resolve().parents[2] / "adaptor_tasks" / "node" / "node_modules"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@openfn/language-http@7.2.10", AdaptorSpec("@openfn/language-http", "7.2.10")),
        ("@openfn/language-http@latest", AdaptorSpec("@openfn/language-http", "latest")),
        ("@openfn/language-http", AdaptorSpec("@openfn/language-http", "latest")),
        ("http", AdaptorSpec("@openfn/language-http", "latest")),
        ("common@3.3.4", AdaptorSpec("@openfn/language-common", "3.3.4")),
        ("language-dhis2@^5", AdaptorSpec("@openfn/language-dhis2", "^5")),
    ],
)
def test_parse_specifier(text: str, expected: AdaptorSpec) -> None:
    assert parse_specifier(text) == expected


@pytest.mark.parametrize("text", ["", "@openfn/", "http@1.0; rm -rf /", "HTTP"])
def test_invalid_specifiers_are_rejected(text: str) -> None:
    with pytest.raises(AdaptorNotFoundError):
        parse_specifier(text)


def test_latest_resolves_to_the_bundled_version(repository: AdaptorRepository) -> None:
    ref = repository.resolve("http")
    assert ref.name == "@openfn/language-http"
    assert ref.version == "7.2.10"
    assert ref.path == BUNDLED / "@openfn" / "language-http"
    assert repository.resolve("@openfn/language-common@latest").version == "3.3.4"


def test_bundled_exact_version_needs_no_install(repository: AdaptorRepository) -> None:
    ref = repository.resolve("common@3.3.4")
    assert repository.ensure_installed(ref) == BUNDLED / "@openfn" / "language-common"
    assert not any(repository.cache_dir.iterdir())


def test_configuration_schema_of_language_http(repository: AdaptorRepository) -> None:
    schema = repository.configuration_schema(repository.resolve("http"))
    assert schema is not None
    assert {"baseUrl", "username", "password"} <= set(schema["properties"])
    assert schema["properties"]["password"]["writeOnly"] is True


def test_language_common_has_no_configuration_schema(repository: AdaptorRepository) -> None:
    assert repository.configuration_schema(repository.resolve("common")) is None


def test_operations_come_from_ast_json(repository: AdaptorRepository) -> None:
    operations = repository.operations(repository.resolve("http"))
    by_name = {op["name"]: op for op in operations}
    assert {"get", "post", "request", "fn", "each"} <= set(by_name)
    assert by_name["request"]["params"] == ["method", "path", "options"]
    assert by_name["get"]["description"]


def test_pool_lists_adaptor_exports(pool: NodePool, repository: AdaptorRepository) -> None:
    exports = pool.adaptor_exports(repository.resolve("http"))
    assert {"get", "post", "fn", "each", "dataValue"} <= set(exports)


def test_an_unknown_package_is_not_found(repository: AdaptorRepository) -> None:
    with pytest.raises(AdaptorNotFoundError):
        repository.resolve("@openfn/language-lightning-flows-does-not-exist@latest")


@pytest.mark.slow
def test_installs_another_version_from_npm_once(tmp_path: Path) -> None:
    repository = AdaptorRepository(cache_dir=tmp_path / "cache")
    ref = repository.resolve("common@3.2.3")
    assert ref.path.is_relative_to(tmp_path)
    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(repository.ensure_installed(ref)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert paths == [ref.path, ref.path]
    assert (ref.path / "package.json").exists()

    with NodePool(size=1) as pool:
        result = pool.run_step(
            StepRequest(
                step_id="s", body="fn(s => ({ ...s, data: { ok: true } }));", adaptor=ref, state={}
            )
        )
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert any("3.2.3" in entry.message for entry in result.logs)


@pytest.mark.slow
def test_an_unknown_version_is_not_found(tmp_path: Path) -> None:
    repository = AdaptorRepository(cache_dir=tmp_path)
    ref = repository.resolve("common@99.99.99")
    with pytest.raises(AdaptorNotFoundError):
        repository.ensure_installed(ref)
