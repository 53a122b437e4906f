"""Turning one workflow of a project document into the graph to save, or problems.

Items are matched to stored records by `id` (state documents), else by name
(jobs, workflows), trigger type, or `source -> target` (edges); unmatched
items are new. Stored items the document does not mention are kept, unless
marked `delete: true`. Every problem names its path in the document.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from lightning_flows.provisioning.credentials import CredentialLinks
from lightning_flows.provisioning.spec import BodyPath, WorkflowSpec, hyphenate
from lightning_flows.provisioning.validation import GraphPlan, Problem, validate_graph
from lightning_flows.workflows.models import Edge, Job, Trigger
from lightning_flows.workflows.schemas import (
    EdgeDoc,
    JobDoc,
    TriggerDoc,
    WorkflowDocument,
    WorkflowPublic,
)

_TRIGGER_FIELDS = (
    "type",
    "enabled",
    "cron_expression",
    "cron_timezone",
    "webhook_reply",
    "webhook_response_config",
    "custom_path",
    "kafka_configuration",
)
_EDGE_FIELDS = ("condition_type", "condition_expression", "condition_label", "enabled")
_EDGE_ENDS = {"source_job", "source_job_id", "source_trigger", "source_trigger_id"}


class GraphResolver:
    """Resolves `workflows.<key>` against the workflow it updates (`current`, if any)."""

    def __init__(
        self,
        session: Session,
        path: str,
        spec: WorkflowSpec,
        current: WorkflowPublic | None,
        credentials: CredentialLinks,
    ) -> None:
        self.session, self.path, self.spec, self.current = session, path, spec, current
        self.credentials = credentials
        self.problems: list[Problem] = []
        self.plan = GraphPlan(doc=WorkflowDocument(name=spec.name or path.split(".", 1)[1]))
        self.job_ids: dict[str, uuid.UUID] = {}
        self.trigger_ids: dict[str, uuid.UUID] = {}
        self.stored_ids: set[uuid.UUID | None] = set()

    def problem(self, loc: str, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def resolve(self) -> GraphPlan:
        cur = self.current
        jobs = {
            j.id: JobDoc(**j.model_dump(), adaptor_requested=j.adaptor_requested)
            for j in (cur.jobs if cur else [])
        }
        triggers = {t.id: TriggerDoc(**t.model_dump()) for t in cur.triggers} if cur else {}
        edges = {e.id: EdgeDoc(**e.model_dump()) for e in cur.edges} if cur else {}
        self.stored_ids = {*jobs, *triggers, *edges}
        for job_id, job in jobs.items():
            self.plan.locs[job_id] = f"{self.path}.jobs.{hyphenate(job.name)}"
        for trigger_id, trigger in triggers.items():
            self.plan.locs[trigger_id] = f"{self.path}.triggers.{trigger.type.value}"
        self._jobs(jobs)
        self._triggers(triggers, jobs)
        for edge_id, edge in list(edges.items()):
            source = edge.source_job_id or edge.source_trigger_id
            if edge.target_job_id not in jobs or (source not in jobs and source not in triggers):
                del edges[edge_id]  # it went with a deleted job or trigger
        self._edges(edges, jobs, triggers)
        doc = self.plan.doc
        if cur:
            doc.concurrency, doc.positions = cur.concurrency, cur.positions
            doc.retry_lost_runs, doc.on_worker_loss = cur.retry_lost_runs, cur.on_worker_loss
        if self.spec.on_worker_loss is not None:
            doc.on_worker_loss = self.spec.on_worker_loss
        doc.jobs, doc.triggers = list(jobs.values()), list(triggers.values())
        doc.edges = list(edges.values())
        if not self.problems:
            self.problems += validate_graph(self.plan, self.path)
        return self.plan

    def _claim(self, model: Any, item_id: uuid.UUID | None, loc: str, known: dict) -> uuid.UUID:
        """The id to use: a given id must be new or belong to this workflow."""
        if item_id is None or item_id in known or item_id in self.stored_ids:
            return item_id or uuid.uuid4()
        row = self.session.get(model, item_id)
        if row is not None:
            self.problem(f"{loc}.id", f"id {item_id} belongs to another workflow")
        return item_id

    def _jobs(self, jobs: dict[uuid.UUID, JobDoc]) -> None:
        by_name = {j.name: j.id for j in jobs.values()}
        for key, spec in self.spec.jobs.items():
            loc = f"{self.path}.jobs.{key}"
            name = spec.name or key
            job_id = self._claim(Job, spec.id or by_name.get(name), loc, jobs)
            if spec.delete:
                jobs.pop(job_id, None)
                continue
            if isinstance(spec.body, BodyPath):
                self.problem(
                    f"{loc}.body",
                    f"'{spec.body.path}' is a file reference: send the body text "
                    "(`lightning-flows deploy` reads the file for you)",
                )
            old, given = jobs.get(job_id), spec.model_fields_set
            values: dict[str, Any] = old.model_dump() if old else {"name": name}
            if spec.name:
                values["name"] = spec.name
            if "adaptor" in given or old is None:
                values["adaptor"], values["adaptor_requested"] = spec.adaptor, None
            if "body" in given or old is None:
                values["body"] = spec.body if isinstance(spec.body, str) else ""
            if "project_credential_id" in given:
                values["project_credential_id"] = self.credentials.resolve_id(
                    spec.project_credential_id
                )
            if "credential" in given:
                values["project_credential_id"] = self._credential(spec.credential, loc)
            values.update(spec.retry_settings())
            jobs[job_id] = JobDoc(**{**values, "id": job_id})
            self.job_ids[key] = job_id
            self.plan.locs[job_id], self.plan.hints[job_id] = loc, key

    def _triggers(
        self, triggers: dict[uuid.UUID, TriggerDoc], jobs: dict[uuid.UUID, JobDoc]
    ) -> None:
        claimed: set[uuid.UUID] = set()
        for key, spec in self.spec.triggers.items():
            loc = f"{self.path}.triggers.{key}"
            match = spec.id
            if match is None:
                wanted = spec.type.value if spec.type else key
                same_type = [t.id for t in triggers.values() if t.type.value == wanted]
                match = next((i for i in same_type if i not in claimed), None)
            trigger_id = self._claim(Trigger, match, loc, triggers)
            claimed.add(trigger_id)
            if spec.delete:
                triggers.pop(trigger_id, None)
                continue
            old, given = triggers.get(trigger_id), spec.model_fields_set
            values: dict[str, Any] = old.model_dump() if old else {}
            for name in _TRIGGER_FIELDS:
                if name in given or old is None:
                    values[name] = getattr(spec, name)
            if values.get("type") is None:
                self.problem(f"{loc}.type", "a trigger needs a type: webhook, cron or kafka")
                continue
            if "cron_cursor_job" in given or "cron_cursor_job_id" in given:
                values["cron_cursor_job_id"] = self._cursor_job(spec, jobs, loc)
            values["cron_timezone"] = values.get("cron_timezone") or "UTC"
            triggers[trigger_id] = TriggerDoc(**{**values, "id": trigger_id})
            self.trigger_ids[key] = trigger_id
            self.plan.locs[trigger_id], self.plan.hints[trigger_id] = loc, key

    def _edges(
        self,
        edges: dict[uuid.UUID, EdgeDoc],
        jobs: dict[uuid.UUID, JobDoc],
        triggers: dict[uuid.UUID, TriggerDoc],
    ) -> None:
        by_ends: dict[tuple[uuid.UUID | None, uuid.UUID | None], uuid.UUID | None] = {
            (e.source_job_id or e.source_trigger_id, e.target_job_id): e.id for e in edges.values()
        }
        for key, spec in self.spec.edges.items():
            loc = f"{self.path}.edges.{key}"
            if spec.delete:
                edges.pop(
                    self._claim(Edge, spec.id or self._quiet_ends(spec, by_ends), loc, edges), None
                )
                continue
            source_job = self._ref(
                spec.source_job, spec.source_job_id, self.job_ids, jobs, f"{loc}.source_job", "job"
            )
            source_trigger = self._ref(
                spec.source_trigger,
                spec.source_trigger_id,
                self.trigger_ids,
                triggers,
                f"{loc}.source_trigger",
                "trigger",
            )
            target = self._ref(
                spec.target_job, spec.target_job_id, self.job_ids, jobs, f"{loc}.target_job", "job"
            )
            match = spec.id or by_ends.get((source_job or source_trigger, target))
            edge_id = self._claim(Edge, match, loc, edges)
            old, given = edges.get(edge_id), spec.model_fields_set
            if old is not None and not given & _EDGE_ENDS:
                source_job, source_trigger = old.source_job_id, old.source_trigger_id
            if old is not None and not given & {"target_job", "target_job_id"}:
                target = old.target_job_id
            if target is None and spec.target_job is None and spec.target_job_id is None:
                self.problem(f"{loc}.target_job", "an edge needs a target_job")
            if source_job is None and source_trigger is None and not given & _EDGE_ENDS:
                self.problem(loc, "an edge needs a source_trigger or a source_job")
            if target is None or (source_job is None and source_trigger is None):
                continue
            values: dict[str, Any] = old.model_dump() if old else {}
            for name in _EDGE_FIELDS:
                if name in given or old is None:
                    values[name] = getattr(spec, name)
            edges[edge_id] = EdgeDoc(
                **{
                    **values,
                    "id": edge_id,
                    "source_job_id": source_job,
                    "source_trigger_id": None if source_job else source_trigger,
                    "target_job_id": target,
                }
            )
            self.plan.locs[edge_id], self.plan.hints[edge_id] = loc, key

    def _cursor_job(self, spec: Any, jobs: dict[uuid.UUID, JobDoc], loc: str) -> uuid.UUID | None:
        """`cron_cursor_job: <job key>` (a spec) or `cron_cursor_job_id` (a state)."""
        if spec.cron_cursor_job is not None:
            return self._ref(
                spec.cron_cursor_job, None, self.job_ids, jobs, f"{loc}.cron_cursor_job", "job"
            )
        return self._ref(None, spec.cron_cursor_job_id, {}, jobs, f"{loc}.cron_cursor_job", "job")

    def _credential(self, key: str | None, loc: str) -> uuid.UUID | None:
        if key is None:
            return None
        found = self.credentials.ids.get(key)
        if found is None:
            self.problem(f"{loc}.credential", f"unknown credential '{key}' (not in `credentials`)")
        return found

    def _quiet_ends(self, spec: Any, by_ends: dict) -> uuid.UUID | None:
        """The stored edge a `delete: true` entry without id names by its ends, if any."""
        source = self.job_ids.get(spec.source_job or "") or self.trigger_ids.get(
            spec.source_trigger or ""
        )
        return by_ends.get(
            (
                source or spec.source_job_id or spec.source_trigger_id,
                self.job_ids.get(spec.target_job or "") or spec.target_job_id,
            )
        )

    def _ref(
        self,
        key: str | None,
        item_id: uuid.UUID | None,
        by_key: dict[str, uuid.UUID],
        items: dict[uuid.UUID, Any],
        loc: str,
        kind: str,
    ) -> uuid.UUID | None:
        if key is not None:
            found = by_key.get(key) or self._kept(key, items)
            if found is None:
                self.problem(loc, f"unknown {kind} '{key}'")
            return found
        if item_id is not None and item_id not in items:
            self.problem(f"{loc}_id", f"{kind} {item_id} is not in this workflow")
            return None
        return item_id

    def _kept(self, key: str, items: dict[uuid.UUID, Any]) -> uuid.UUID | None:
        """A stored job or trigger the document does not list, named by its usual key."""
        for item_id, item in items.items():
            names = {hyphenate(item.name), item.name} if isinstance(item, JobDoc) else {item.type}
            if key in names and item_id not in self.plan.hints:
                return item_id  # type: ignore[no-any-return]
        return None
