// The workflow document being edited, the selection, and save problems; views subscribe.
// Every edit before a save can be undone: each mutation first records a snapshot of the
// document (typing into one field coalesces into one snapshot).

export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const CONDITIONS = {
  always: "Always",
  on_job_success: "On success",
  on_job_failure: "On failure",
  js_expression: "JS expression",
};

export class Store {
  constructor(data) {
    this.data = data;
    this.doc = structuredClone(data.document);
    this.doc.positions = this.doc.positions || {};
    this.triggerAuth = structuredClone(data.trigger_auth || {});
    this.selected = null;
    this.problems = []; // [{loc, message, target: {kind, id, field}}]
    this.compile = []; // [{job_id, message, line, column}]
    this.dirty = false;
    this.listeners = new Set();
    this.past = []; // snapshots before each edit, newest last
    this.future = []; // snapshots undone, newest last
    this.lastEdit = { key: null, at: 0 };
  }

  on(fn) { this.listeners.add(fn); }
  emit(change) { for (const fn of this.listeners) fn(change); }

  get editable() { return !!this.data.permissions.edit; }

  find(id) {
    for (const kind of ["job", "trigger", "edge"]) {
      const item = this.doc[kind + "s"].find((x) => x.id === id);
      if (item) return { kind, item };
    }
    return null;
  }

  nodeName(id) {
    const found = this.find(id);
    if (!found) return "?";
    if (found.kind === "job") return found.item.name;
    return found.item.type === "cron" ? "Cron trigger" : "Webhook trigger";
  }

  sourceOf(edge) { return edge.source_job_id || edge.source_trigger_id; }

  problemsFor(id) { return this.problems.filter((p) => p.target && p.target.id === id); }
  compileFor(id) { return this.compile.filter((c) => c.job_id === id); }

  select(id) {
    this.selected = id && this.find(id) ? id : null;
    this.emit({ type: "select" });
  }

  change(item, patch) {
    this.record(`${item.id || "workflow"}:${Object.keys(patch).join(",")}`);
    Object.assign(item, patch);
    this.touch();
  }

  // Call before mutating the document. Edits with the same `key` less than a second
  // apart (keystrokes in one field) share one snapshot.
  record(key = null) {
    const now = Date.now();
    const same = key && key === this.lastEdit.key && now - this.lastEdit.at < 1000;
    this.lastEdit = { key, at: now };
    if (same) return;
    this.past.push(this.snapshot());
    if (this.past.length > 200) this.past.shift();
    this.future = [];
  }

  snapshot() { return structuredClone({ doc: this.doc, triggerAuth: this.triggerAuth }); }

  get canUndo() { return this.past.length > 0; }
  get canRedo() { return this.future.length > 0; }

  undo() { this.travel(this.past, this.future); }
  redo() { this.travel(this.future, this.past); }

  travel(from, to) {
    if (!from.length) return;
    to.push(this.snapshot());
    const { doc, triggerAuth } = from.pop();
    this.doc = doc;
    this.triggerAuth = triggerAuth;
    this.lastEdit = { key: null, at: 0 };
    this.dirty = true;
    if (this.selected && !this.find(this.selected)) this.selected = null;
    this.emit({ type: "history" });
  }

  touch() {
    this.dirty = true;
    this.emit({ type: "doc" });
  }

  uniqueName(base) {
    const names = new Set(this.doc.jobs.map((j) => j.name));
    for (let i = this.doc.jobs.length + 1; ; i++) if (!names.has(`${base} ${i}`)) return `${base} ${i}`;
  }

  addJob(parentId) {
    this.record();
    const job = {
      id: uuid(), name: this.uniqueName("Job"), adaptor: "@openfn/language-common@latest",
      body: "fn(state => state);\n", project_credential_id: null,
      max_attempts: 1, retry_delay_seconds: 0, retry_backoff: 1, retry_on_kill: false,
    };
    this.doc.jobs.push(job);
    if (parentId) this.pushEdge(parentId, job.id);
    this.touch();
    this.select(job.id);
    return job;
  }

  addEdge(sourceId, targetId, select = true) {
    this.record();
    const edge = this.pushEdge(sourceId, targetId);
    this.touch();
    if (select) this.select(edge.id);
    return edge;
  }

  pushEdge(sourceId, targetId) {
    const source = this.find(sourceId);
    const edge = {
      id: uuid(), target_job_id: targetId, enabled: true,
      source_job_id: source.kind === "job" ? sourceId : null,
      source_trigger_id: source.kind === "trigger" ? sourceId : null,
      condition_type: source.kind === "job" ? "on_job_success" : "always",
      condition_expression: null, condition_label: null,
    };
    this.doc.edges.push(edge);
    return edge;
  }

  addTrigger(type) {
    this.record();
    const trigger = { id: uuid(), type, enabled: true, cron_expression: type === "cron" ? "0 * * * *" : null };
    this.doc.triggers.push(trigger);
    this.touch();
    this.select(trigger.id);
  }

  remove(id) {
    const found = this.find(id);
    if (!found) return;
    this.record();
    const list = this.doc[found.kind + "s"];
    list.splice(list.indexOf(found.item), 1);
    if (found.kind !== "edge") {
      this.doc.edges = this.doc.edges.filter((e) => e.target_job_id !== id && this.sourceOf(e) !== id);
      delete this.doc.positions[id];
    }
    this.touch();
    this.select(null);
  }

  // Jobs `sourceId` may connect to: no parent yet, not itself, no cycle created.
  connectable(sourceId) {
    const parents = new Set(this.doc.edges.map((e) => e.target_job_id));
    const ancestors = new Set([sourceId]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const e of this.doc.edges) {
        if (ancestors.has(e.target_job_id) && !ancestors.has(this.sourceOf(e))) {
          ancestors.add(this.sourceOf(e));
          grew = true;
        }
      }
    }
    return this.doc.jobs.filter((j) => !parents.has(j.id) && !ancestors.has(j.id));
  }

  // Whether a path may be drawn from `sourceId` (job or trigger) to the job `targetId`:
  // not to itself, not twice, and no cycle (the target must not lead back to the source).
  canConnect(sourceId, targetId) {
    const source = this.find(sourceId), target = this.find(targetId);
    if (!source || source.kind === "edge" || !target || target.kind !== "job" || sourceId === targetId) return false;
    if (this.doc.edges.some((e) => this.sourceOf(e) === sourceId && e.target_job_id === targetId)) return false;
    const reached = new Set([targetId]);
    const queue = [targetId];
    while (queue.length) {
      const id = queue.shift();
      for (const e of this.doc.edges) {
        if (e.source_job_id === id && !reached.has(e.target_job_id)) { reached.add(e.target_job_id); queue.push(e.target_job_id); }
      }
    }
    return !reached.has(sourceId);
  }

  // Fix positions ({id: {x, y}} of top-left corners) in one undoable edit.
  place(positions) {
    this.record();
    Object.assign(this.doc.positions, positions);
    this.touch();
  }

  saved(response) {
    this.doc = response.workflow;
    this.doc.positions = this.doc.positions || {};
    this.data.workflow_id = response.workflow.id;
    this.triggerAuth = response.trigger_auth || this.triggerAuth;
    this.compile = response.compile || [];
    this.problems = [];
    this.dirty = false;
    this.past = [];
    this.future = [];
    this.lastEdit = { key: null, at: 0 };
    this.emit({ type: "saved" });
  }
}
