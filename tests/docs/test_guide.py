"""The guide's samples run for real, so docs/guide never drifts from the product.

Job samples run in the real Node runtime (`run_local`) from the input the guide
gives, against a case registry served on 127.0.0.1; each page's API requests,
CLI commands and platform jobs run in order against the app with a worker, as
a reader following the page would. See tests/docs/guide_samples.py for the tags.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from adaptor_tasks import NodePool
from lightning_flows.accounts import service as accounts
from lightning_flows.core.config import get_settings
from lightning_flows.engine.execution_plan import ExecutionPlan, PlanStep
from lightning_flows.engine.local import run_local
from tests import factories
from tests.docs import guide_samples as guide
from tests.support.http_server import LocalServer, Received, local_http_server
from tests.support.processes import CLI
from tests.support.projects import live_server

JOBS = guide.by_id("job")
INPUTS = guide.by_id("input")
OUTPUTS = guide.by_id("output")
ERRORS = guide.by_id("error")
LOGS = guide.by_id("log")
CREDENTIALS = guide.by_id("credential")
LOCAL_EXAMPLES = sorted(
    k for k, b in INPUTS.items() if "platform" not in JOBS[b.attrs["job"]].flags
)
SCENARIO_KINDS = {"request", "cli"}
SCENARIO_PAGES = [
    page.name for page in guide.guide_pages() if any(b.kind in SCENARIO_KINDS for b in page.blocks)
]
WAIT_SECONDS = 120
ADAPTORS = {"common": "@openfn/language-common@latest", "http": "@openfn/language-http@latest"}


def step_name(job_id: str) -> str:
    """`map-case` is the step the guide calls "map case"."""
    return job_id.replace("-", " ")


def credential(name: str, registry: LocalServer) -> dict[str, Any]:
    return json.loads(CREDENTIALS[name].text.replace(guide.REGISTRY, registry.url))


def as_guide_shows(text: str, registry: LocalServer) -> str:
    return text.replace(registry.url, guide.REGISTRY)


@contextmanager
def case_registry() -> Iterator[LocalServer]:
    """The registry of the guide: checks the credential and `child.birthDate`."""
    body = json.loads(CREDENTIALS["registry"].text)
    login = base64.b64encode(f"{body['username']}:{body['password']}".encode()).decode()

    def cases(request: Received) -> tuple[int, Any]:
        headers = {key.lower(): value for key, value in request.headers.items()}
        if headers.get("authorization") != f"Basic {login}":
            return 401, {"error": "unauthorized"}
        record = request.body if isinstance(request.body, dict) else {}
        if not (record.get("child") or {}).get("birthDate"):
            return 422, {"error": "child.birthDate is required"}
        return 201, {"id": "REG-1042", "status": "registered"}

    with local_http_server() as server:
        server.route("POST", "/api/cases", cases)
        yield server


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalServer]:
    with case_registry() as server:
        yield server


@pytest.fixture(scope="module")
def node_pool() -> Iterator[NodePool]:
    settings = get_settings()
    pool = NodePool(
        1,
        step_timeout_s=settings.step_timeout_seconds,
        memory_limit_mb=settings.step_memory_limit_mb,
        state_limit_bytes=settings.state_limit_bytes,
    )
    yield pool
    pool.close()


def test_every_block_says_what_it_is() -> None:
    for page in guide.guide_pages():
        for block in page.blocks:
            assert block.kind in guide.KINDS, (
                f"{block.where}: tag the block (```{block.lang} <kind> ...), one of "
                f"{sorted(guide.KINDS)}, so the suite runs it"
            )


def test_every_job_sample_is_run() -> None:
    used = {block.attrs["job"] for block in INPUTS.values()}
    assert set(JOBS) <= used, f"job samples without an input: {sorted(set(JOBS) - used)}"
    for example, block in INPUTS.items():
        assert block.attrs["job"] in JOBS, f"{block.where}: no job '{block.attrs['job']}'"
        assert example in OUTPUTS or example in ERRORS or example in LOGS, (
            f"{block.where}: example '{example}' shows no output, error or log to check"
        )


@pytest.mark.parametrize("example", LOCAL_EXAMPLES)
def test_job_sample(example: str, registry: LocalServer, node_pool: NodePool) -> None:
    given = INPUTS[example]
    job = JOBS[given.attrs["job"]]
    state = given.json()
    if "credential" in job.attrs:
        state["configuration"] = credential(job.attrs["credential"], registry)
    step = PlanStep(
        id=job.attrs["id"],
        name=step_name(job.attrs["id"]),
        adaptor=job.attrs.get("adaptor", "common"),
        body=job.text,
    )
    plan = ExecutionPlan(steps={step.id: step}, edges=[], start=step.id)
    timeout = float(job.attrs["timeout"]) if "timeout" in job.attrs else None
    result = run_local(plan, state, timeout_s=timeout, pool=node_pool)
    error = guide.error_line(result.walk.error_type, result.walk.error_message)
    if example in ERRORS:
        assert result.walk.state != "success", f"{ERRORS[example].where}: the job succeeded"
        expected = ERRORS[example].text.strip()
        assert as_guide_shows(error, registry) == expected, ERRORS[example].where
    else:
        assert result.walk.state == "success", f"{given.where}: {error}"
    if example in OUTPUTS:
        shown = json.loads(as_guide_shows(json.dumps(result.output), registry))
        assert shown == OUTPUTS[example].json(), OUTPUTS[example].where
    if example in LOGS:
        lines = [as_guide_shows(entry.message, registry) for entry in result.logs]
        for line in filter(None, (x.strip() for x in LOGS[example].text.splitlines())):
            assert any(line in message for message in lines), (
                f"{LOGS[example].where}: no log line contains {line!r} in {lines}"
            )


def _route_shape(path: str) -> str:
    """`/api/projects/{project_id}/x` and `/api/projects/{pid}/x` are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


class Reader:
    """Follows one page, block by block, as a person would: the API through the app,
    commands in a folder of their own, the build page's workflow already saved."""

    def __init__(
        self,
        page: guide.Page,
        client: TestClient,
        session: Session,
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.page, self.client, self.session, self.folder = page, client, session, folder
        self.monkeypatch = monkeypatch
        self.values: dict[str, str] = {}
        self.output = ""
        self.stack = ExitStack()
        self.registry = self.stack.enter_context(case_registry())
        # The API's routes as the app publishes them (its OpenAPI paths).
        self.routes = {_route_shape(path) for path in client.app.openapi()["paths"]}  # type: ignore[attr-defined]
        self.endpoint: str | None = None
        self.exported: dict[str, str] = {}

    # -- setup: what the build page had the reader make -------------------------
    def setup(self) -> None:
        owner = factories.make_user(self.session, email="programme.lead@example.org")
        _token, self.values["token"] = accounts.create_api_token(self.session, owner, "guide")
        registry = self.api(
            "POST",
            "/api/credentials",
            {"name": "registry", "schema": "http", "body": credential("registry", self.registry)},
            201,
        )
        if self.page.name != "build.md":  # the job files the build page had the reader write
            for block in guide.parse_page(guide.GUIDE / "build.md").blocks:
                if block.kind == "job" and "file" in block.attrs:
                    (self.folder / block.attrs["file"]).write_text(block.text, encoding="utf-8")
        if not any(block.kind == "request" for block in self.page.blocks):
            return  # a page of commands makes its own project
        project = self.api("POST", "/api/projects", {"name": "Child protection"}, 201)
        self.values["project_id"] = project["id"]
        self.api("PATCH", f"/api/credentials/{registry['id']}", {"project_ids": [project["id"]]})
        (shared,) = self.api("GET", f"/api/projects/{project['id']}/credentials")
        trigger, mapper, poster = (str(uuid.uuid4()) for _ in range(3))
        workflow = self.api(
            "POST",
            f"/api/projects/{project['id']}/workflows",
            {
                "name": "Case intake",
                "triggers": [{"id": trigger, "type": "webhook"}],
                "jobs": [
                    self._job(mapper, "map-case"),
                    {**self._job(poster, "post-case"), "project_credential_id": shared["id"]},
                ],
                "edges": [
                    {"source_trigger_id": trigger, "target_job_id": mapper},
                    {
                        "source_job_id": mapper,
                        "target_job_id": poster,
                        "condition_type": "on_job_success",
                    },
                ],
            },
            201,
        )
        self.values.update(workflow_id=workflow["id"], trigger_id=trigger)
        if any(JOBS[b.attrs["job"]].flags & {"platform"} for b in self.inputs()):
            # Jobs reach the collections API over HTTP: serve the app and point them at it.
            served = self.stack.enter_context(live_server())
            self.monkeypatch.setenv("LIGHTNING_COLLECTIONS_URL", f"{served}/collections")
            get_settings.cache_clear()
            self.stack.callback(get_settings.cache_clear)
            self.stack.callback(self.monkeypatch.delenv, "LIGHTNING_COLLECTIONS_URL")

    def inputs(self) -> list[guide.Block]:
        return [block for block in self.page.blocks if block.kind == "input"]

    def _job(self, job_id: str, sample: str) -> dict[str, Any]:
        block = JOBS[sample]
        adaptor = ADAPTORS[block.attrs.get("adaptor", "common")]
        return {"id": job_id, "name": step_name(sample), "adaptor": adaptor, "body": block.text}

    def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.values['token']}"}
        response = self.client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    # -- following the page ----------------------------------------------------
    def follow(self) -> None:
        blocks = self.page.blocks
        for index, block in enumerate(blocks):
            self._needs(block)
            if "file" in block.attrs:
                target = self.folder / block.attrs["file"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding="utf-8")
            if block.kind == "request":
                answer = blocks[index + 1] if index + 1 < len(blocks) else None
                assert answer is not None and answer.kind == "response", (
                    f"{block.where}: a request is followed by its response block"
                )
                self.request(block, answer)
            elif block.kind == "job" and "saves" in block.attrs:
                self.save_job(block.attrs["saves"], block.text)
            elif block.kind == "input" and (
                "platform" in block.flags or "platform" in JOBS[block.attrs["job"]].flags
            ):
                self.run_on_platform(block)
            elif block.kind == "cli":
                self.run_commands(block)
            elif block.kind == "stdout":
                self.check_stdout(block)

    def _needs(self, block: guide.Block) -> None:
        route = block.attrs.get("needs")
        if route and _route_shape(route) not in self.routes:
            pytest.skip(
                f"{block.where} needs {route}, which this build of the app does not have yet "
                "(the feature is merged separately); every sample before it passed"
            )

    def request(self, block: guide.Block, answer: guide.Block) -> None:
        request = guide.parse_request(block, self.values)
        status, expected = guide.parse_response(answer)
        deadline = time.monotonic() + (WAIT_SECONDS if "wait" in block.flags else 0)
        while True:
            response = self.client.request(
                request.method,
                request.path,
                content=request.body.encode() or None,
                headers=request.headers,
            )
            text = self.registry_shown(response.text)
            body = json.loads(text) if text else None
            trial = dict(self.values)
            if response.status_code == status and (
                expected is None or guide.matches(expected, body, trial)
            ):
                self.values = trial
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{answer.where}: expected {status} {json.dumps(expected)}\n"
                    f"got {response.status_code} {text[:3000]}"
                )
            time.sleep(0.5)

    def registry_shown(self, text: str) -> str:
        return as_guide_shows(text, self.registry)

    def save_job(self, sample: str, body: str) -> None:
        """What pressing Save in the builder does: a new version with the job's new code."""
        path = f"/api/projects/{self.values['project_id']}/workflows/{self.values['workflow_id']}"
        document = self.api("GET", path)
        for job in document["jobs"]:
            if job["name"] == step_name(sample):
                job["body"] = body
        self.api("PUT", path, document)

    def run_on_platform(self, given: guide.Block) -> None:
        """A one-step workflow of the job in the page's project, run by a worker."""
        job = JOBS[given.attrs["job"]]
        job_id = str(uuid.uuid4())
        workflow = self.api(
            "POST",
            f"/api/projects/{self.values['project_id']}/workflows",
            {"name": f"guide {job.attrs['id']}", "jobs": [self._job(job_id, job.attrs["id"])]},
            201,
        )
        started = self.api(
            "POST", f"/api/workflows/{workflow['id']}/runs", {"body": given.json()}, 201
        )
        run = self.wait_for_run(started["run_id"])
        example = given.attrs["id"]
        (step,) = run["steps"]
        if example in ERRORS:
            error = guide.error_line(step["error_type"], step["error_message"])
            assert self.registry_shown(error) == ERRORS[example].text.strip(), ERRORS[example].where
        else:
            assert run["state"] == "success", f"{given.where}: {run}"
        if example in OUTPUTS:
            clip = self.api("GET", f"/api/dataclips/{step['output_dataclip_id']}")
            shown = json.loads(self.registry_shown(json.dumps(clip["body"])))
            assert guide.matches(OUTPUTS[example].json(), shown, dict(self.values)), (
                f"{OUTPUTS[example].where}: got {shown}"
            )
        if example in LOGS:
            lines = self.api("GET", f"/api/runs/{run['id']}/log_lines?page_size=1000")["items"]
            messages = [self.registry_shown(line["message"]) for line in lines]
            for line in filter(None, (x.strip() for x in LOGS[example].text.splitlines())):
                assert any(line in m for m in messages), f"{LOGS[example].where}: {line!r}"

    def wait_for_run(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            run = self.api("GET", f"/api/runs/{run_id}")
            if run["state"] not in ("available", "claimed", "started"):
                return dict(run)
            assert time.monotonic() < deadline, f"run {run_id} did not finish: {run}"
            time.sleep(0.5)

    def run_commands(self, block: guide.Block) -> None:
        self.output = ""
        self.environment()  # starts the server, so <server_url> is known
        for argv in guide.commands(block, self.values):
            program, *args = argv
            if program == "export":
                name, _, value = args[0].partition("=")
                self.exported[name] = value
                continue
            if program == "lightning-flows":
                argv = [*CLI, *args]
            else:
                assert program == "git", f"{block.where}: the guide runs lightning-flows and git"
                argv = [shutil.which("git") or "git", *args]
            done = subprocess.run(
                argv,
                cwd=self.folder,
                env=self.environment(),
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            self.output += done.stdout + done.stderr
            assert done.returncode == 0, f"{block.where}: {' '.join(argv)}\n{self.output}"

    def environment(self) -> dict[str, str]:
        if self.endpoint is None:
            self.endpoint = self.stack.enter_context(live_server())
            self.values["server_url"] = self.endpoint
        home = self.folder.parent / "home"
        home.mkdir(exist_ok=True)
        return {
            **os.environ,
            "HOME": str(home),
            "OPENFN_ENDPOINT": self.endpoint,
            "OPENFN_API_KEY": self.values["token"],
            "GIT_AUTHOR_NAME": "Programme Lead",
            "GIT_AUTHOR_EMAIL": "programme.lead@example.org",
            "GIT_COMMITTER_NAME": "Programme Lead",
            "GIT_COMMITTER_EMAIL": "programme.lead@example.org",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            **self.exported,
        }

    def check_stdout(self, block: guide.Block) -> None:
        position = 0
        for line in filter(None, (x.strip() for x in block.text.splitlines())):
            rest = self.output[position:]
            trial = dict(self.values)
            assert guide.match_text(line, rest, trial, whole=False), (
                f"{block.where}: {line!r} not found in:\n{rest}"
            )
            found = guide._pattern(line, self.values).search(rest)
            position += found.end() if found else 0
            self.values = trial


@pytest.mark.slow
@pytest.mark.parametrize("page_name", SCENARIO_PAGES)
def test_page_scenario(
    page_name: str,
    request: pytest.FixtureRequest,
    client: TestClient,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = guide.parse_page(guide.GUIDE / page_name)
    if any(block.kind == "request" for block in page.blocks):
        request.getfixturevalue("worker")
    folder = tmp_path / "work"
    folder.mkdir()
    reader = Reader(page, client, session, folder, monkeypatch)
    with reader.stack:
        reader.setup()
        reader.follow()
