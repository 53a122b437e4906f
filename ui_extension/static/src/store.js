// The workflow document being edited, the selection, and save problems; views subscribe.

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
    Object.assign(item, patch);
    this.touch();
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
    const job = {
      id: uuid(), name: this.uniqueName("Job"), adaptor: "@openfn/language-common@latest",
      body: "fn(state => state);\n", project_credential_id: null,
      max_attempts: 1, retry_delay_seconds: 0, retry_backoff: 1, retry_on_kill: false,
    };
    this.doc.jobs.push(job);
    if (parentId) this.addEdge(parentId, job.id, false);
    this.touch();
    this.select(job.id);
    return job;
  }

  addEdge(sourceId, targetId, select = true) {
    const source = this.find(sourceId);
    const edge = {
      id: uuid(), target_job_id: targetId, enabled: true,
      source_job_id: source.kind === "job" ? sourceId : null,
      source_trigger_id: source.kind === "trigger" ? sourceId : null,
      condition_type: source.kind === "job" ? "on_job_success" : "always",
      condition_expression: null, condition_label: null,
    };
    this.doc.edges.push(edge);
    this.touch();
    if (select) this.select(edge.id);
    return edge;
  }

  addTrigger(type) {
    const trigger = { id: uuid(), type, enabled: true, cron_expression: type === "cron" ? "0 * * * *" : null };
    this.doc.triggers.push(trigger);
    this.touch();
    this.select(trigger.id);
  }

  remove(id) {
    const found = this.find(id);
    if (!found) return;
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

  saved(response) {
    this.doc = response.workflow;
    this.doc.positions = this.doc.positions || {};
    this.data.workflow_id = response.workflow.id;
    this.triggerAuth = response.trigger_auth || this.triggerAuth;
    this.compile = response.compile || [];
    this.problems = [];
    this.dirty = false;
    this.emit({ type: "saved" });
  }
}
