"""Fixtures for adaptor_tasks: the bundled adaptors and one shared Node pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adaptor_tasks import AdaptorRef, NodePool, StepRequest, StepResult
from adaptor_tasks.repository import AdaptorRepository


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> AdaptorRepository:
    return AdaptorRepository(cache_dir=tmp_path_factory.mktemp("adaptor-cache"))


@pytest.fixture(scope="session")
def common(repository: AdaptorRepository) -> AdaptorRef:
    return repository.resolve("common@3.3.4")


@pytest.fixture(scope="session")
def http(repository: AdaptorRepository) -> AdaptorRef:
    return repository.resolve("http@7.2.10")


@pytest.fixture(scope="session")
def pool(common: AdaptorRef, http: AdaptorRef) -> Iterator[NodePool]:
    with NodePool(
        size=2,
        step_timeout_s=20,
        memory_limit_mb=512,
        state_limit_bytes=1024 * 1024,
        preload=[common, http],
    ) as node_pool:
        yield node_pool


@pytest.fixture
def run_job(pool: NodePool, common: AdaptorRef):
    """Run a job body with language-common (or another adaptor) on the shared pool."""

    def run(
        body: str,
        state: dict | None = None,
        adaptor: AdaptorRef | None = None,
        step_id: str = "step-1",
        cache_key: str | None = None,
    ) -> StepResult:
        request = StepRequest(
            step_id=step_id,
            body=body,
            adaptor=adaptor or common,
            state=state if state is not None else {"data": {}},
            cache_key=cache_key,
        )
        return pool.run_step(request)

    return run
