// The inspector: settings of the selected step, trigger or path (or of the workflow).
import { CONDITIONS } from "./store.js";
import { h, field, checkbox, select, shown, debounce, uid, request } from "./dom.js";
import { jobPanel, createEditor, showWarnings, insertAtCursor } from "./job_panel.js";

const WORKER_LOSS = {
  resume: "Resume it on another worker at the interrupted step",
  mark_lost: "Mark the run lost (steps must not run twice)",
};

export class Inspector {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.editor = null;
    root.addEventListener("click", (e) => {
      const button = e.target.closest("[data-insert]");
      if (button && this.editor && store.editable) insertAtCursor(this.editor, button.dataset.insert);
    });
  }

  render() {
    const { store } = this;
    if (this.editor) { this.editor.destroy(); this.editor = null; }
    this.codeChanged = null; // set by a panel that follows the code (the request form)
    const found = store.selected ? store.find(store.selected) : null;
    const parts = [];
    this.after = [];
    if (!found) parts.push(...this.workflowPanel());
    else {
      const problems = store.problemsFor(found.item.id);
      if (problems.length) {
        parts.push(h("div", { class: "alert", role: "alert" },
          h("strong", {}, "Fix before saving:"), h("ul", {}, problems.map((p) => h("li", {}, p.message)))));
      }
      if (found.kind === "job") parts.push(...jobPanel(this, found.item));
      if (found.kind === "trigger") parts.push(...this.triggerPanel(found.item));
      if (found.kind === "edge") parts.push(...this.edgePanel(found.item));
    }
    this.root.replaceChildren(...parts);
    for (const fn of this.after) fn();
  }

  // Called by the job panel once its editor element is in the page.
  mountEditor(parent, job) {
    this.editor = createEditor(parent, {
      doc: job.body || "",
      readOnly: !this.store.editable,
      label: `Code of step ${job.name}`,
      onChange: (body) => { this.store.change(job, { body }); if (this.codeChanged) this.codeChanged(body); },
    });
    showWarnings(this.editor, this.store.compileFor(job.id));
  }

  workflowPanel() {
    const { store } = this;
    const doc = store.doc;
    const parts = [h("h2", {}, "Workflow"),
      h("p", { class: "hint" }, "Select a trigger, step or path on the diagram (or in the list below it) to edit it.")];
    if (!store.editable) {
      parts.push(shown("Concurrency", doc.concurrency || "Unlimited"), shown("Retry lost runs", doc.retry_lost_runs ? "Yes" : "No"),
        shown("If a worker dies mid-run", WORKER_LOSS[doc.on_worker_loss || "resume"]));
      return parts;
    }
    const concurrency = h("input", { type: "number", min: 1, value: doc.concurrency ?? "",
      oninput: (e) => store.change(doc, { concurrency: e.target.value ? Number(e.target.value) : null }) });
    parts.push(field("Concurrency", concurrency, "How many runs of this workflow may execute at once (empty: no limit)."),
      field("If a worker dies mid-run",
        select(Object.entries(WORKER_LOSS), doc.on_worker_loss || "resume", (v) => store.change(doc, { on_worker_loss: v }),
          { "aria-label": "If a worker dies mid-run" }),
        "Resume: another worker runs the interrupted step again (completed steps are not). Mark lost: for steps that must never run twice."),
      checkbox("Retry runs lost by a crashed worker", doc.retry_lost_runs, (v) => store.change(doc, { retry_lost_runs: v })));
    parts.push(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => store.addTrigger("webhook") }, "Add webhook trigger"),
      h("button", { type: "button", onclick: () => store.addTrigger("cron") }, "Add cron trigger")));
    return parts;
  }

  triggerPanel(trigger) {
    const { store } = this;
    const data = store.data;
    const parts = [h("h2", {}, store.nodeName(trigger.id))];
    const url = `${data.webhook_base}${trigger.custom_path || trigger.id}`;
    if (!store.editable) {
      parts.push(shown("Enabled", trigger.enabled === false ? "No" : "Yes"));
      if (trigger.type === "webhook") parts.push(this.webhookUrl(url), shown("Reply", trigger.webhook_reply === "after_completion" ? "After the run completes" : "Before the run starts"), this.authMethods(trigger));
      else parts.push(shown("Schedule (cron)", trigger.cron_expression), shown("Timezone", trigger.cron_timezone || "UTC"), this.cronInfo(trigger));
      return parts;
    }
    const rerender = () => this.render();
    parts.push(field("Type", select([["webhook", "Webhook"], ["cron", "Cron schedule"]], trigger.type, (type) => {
      store.change(trigger, { type, cron_expression: type === "cron" ? "0 * * * *" : null, custom_path: null, webhook_reply: null });
      rerender();
    })));
    parts.push(checkbox("Enabled (accepts requests / fires on schedule)", trigger.enabled !== false, (v) => store.change(trigger, { enabled: v })));
    if (trigger.type === "webhook") {
      const path = h("input", { type: "text", value: trigger.custom_path || "", placeholder: trigger.id,
        oninput: (e) => { store.change(trigger, { custom_path: e.target.value.trim() || null }); urlInput.value = `${data.webhook_base}${trigger.custom_path || trigger.id}`; } });
      const urlField = this.webhookUrl(url);
      const urlInput = urlField.querySelector("input");
      parts.push(urlField, field("Custom path", path, "Optional: letters, digits, '-', '_' and '.'."));
      parts.push(field("Reply", select([["before_start", "Before the run starts (202-style acknowledgement)"], ["after_completion", "After the run completes (synchronous reply)"]],
        trigger.webhook_reply || "before_start", (v) => store.change(trigger, { webhook_reply: v }))));
      parts.push(this.authMethods(trigger));
    } else {
      const info = this.cronInfo(trigger);
      const refresh = debounce(() => info.refresh(), 300);
      parts.push(field("Schedule (cron expression)", h("input", { type: "text", value: trigger.cron_expression || "", spellcheck: "false",
        oninput: (e) => { store.change(trigger, { cron_expression: e.target.value }); refresh(); } }), "Five fields: minute hour day-of-month month weekday, e.g. 0 6 * * 1-5."));
      parts.push(field("Timezone", h("input", { type: "text", value: trigger.cron_timezone || "UTC",
        oninput: (e) => { store.change(trigger, { cron_timezone: e.target.value.trim() || "UTC" }); refresh(); } })), info);
    }
    parts.push(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => store.addJob(trigger.id), disabled: store.doc.edges.some((e) => e.source_trigger_id === trigger.id) }, "Add step after this trigger"),
      h("button", { type: "button", class: "danger", onclick: () => store.remove(trigger.id) }, "Remove trigger")));
    return parts;
  }

  webhookUrl(url) {
    const input = h("input", { type: "text", readonly: true, value: url, class: "mono" });
    const status = h("span", { role: "status", class: "hint" });
    const copy = async () => {
      try { await navigator.clipboard.writeText(input.value); }
      catch { input.select(); document.execCommand("copy"); }
      status.textContent = "Copied.";
    };
    return h("div", { class: "field" }, h("label", { for: (input.id = uid()) }, "Webhook URL"),
      h("div", { class: "row" }, input, h("button", { type: "button", onclick: copy }, "Copy")), status);
  }

  authMethods(trigger) {
    const { store } = this;
    const methods = store.data.auth_methods;
    const chosen = new Set(store.triggerAuth[trigger.id] || []);
    const box = h("fieldset", { class: "auth" }, h("legend", {}, "Webhook authentication"));
    if (!methods.length) {
      box.append(h("p", { class: "hint" }, "No auth methods in this project: anyone with the URL can post. Project admins create them in the project settings."));
      return box;
    }
    if (!store.editable || !store.data.permissions.manage_auth) {
      const names = methods.filter((m) => chosen.has(m.id)).map((m) => `${m.name} (${m.auth_type})`);
      box.append(h("p", {}, names.length ? names.join(", ") : "None: anyone with the URL can post."));
      if (store.editable) box.append(h("p", { class: "hint" }, "Only project admins can change this."));
      return box;
    }
    for (const m of methods) {
      box.append(checkbox(`${m.name} (${m.auth_type})`, chosen.has(m.id), (on) => {
        store.record();
        on ? chosen.add(m.id) : chosen.delete(m.id);
        store.triggerAuth[trigger.id] = [...chosen];
        store.touch();
      }));
    }
    return box;
  }

  cronInfo(trigger) {
    const text = h("p", { class: "cron-text", "aria-live": "polite" });
    const list = h("ol", { class: "cron-next" });
    const box = h("div", { class: "cron-info" }, text, h("p", { class: "label" }, "Next runs"), list);
    box.refresh = async () => {
      const params = new URLSearchParams({ expression: trigger.cron_expression || "", timezone: trigger.cron_timezone || "UTC" });
      const { ok, data } = await request("GET", `${this.store.data.base_path}/cron?${params}`);
      text.textContent = ok ? (data.valid ? data.description : data.error) : data.detail;
      list.replaceChildren(...(ok && data.valid ? data.next.map((t) => h("li", {}, h("time", { datetime: t }, t.replace("T", " ")))) : []));
    };
    box.refresh();
    return box;
  }

  edgePanel(edge) {
    const { store } = this;
    const from = store.nodeName(store.sourceOf(edge)), to = store.nodeName(edge.target_job_id);
    const parts = [h("h2", {}, `Path: ${from} → ${to}`)];
    if (!store.editable) {
      parts.push(shown("Condition", CONDITIONS[edge.condition_type]), shown("Label", edge.condition_label),
        edge.condition_type === "js_expression" ? shown("JS expression", h("code", {}, edge.condition_expression)) : null,
        shown("Enabled", edge.enabled === false ? "No" : "Yes"));
      return parts;
    }
    const fromTrigger = !!edge.source_trigger_id;
    const options = Object.entries(CONDITIONS).filter(([k]) => !fromTrigger || k === "always" || k === "js_expression");
    const expression = h("textarea", { rows: 3, class: "mono", spellcheck: "false",
      oninput: (e) => store.change(edge, { condition_expression: e.target.value }) }, edge.condition_expression || "");
    const exprField = field("JS expression", expression, "True to follow this path; `state` is the step's output, e.g. !state.errors && state.data.count > 0");
    exprField.hidden = edge.condition_type !== "js_expression";
    parts.push(field("Condition", select(options, edge.condition_type, (v) => {
      store.change(edge, { condition_type: v });
      exprField.hidden = v !== "js_expression";
    })), field("Label", h("input", { type: "text", value: edge.condition_label || "",
      oninput: (e) => store.change(edge, { condition_label: e.target.value || null }) }), "Shown on the diagram instead of the condition."), exprField,
    checkbox("Enabled", edge.enabled !== false, (v) => store.change(edge, { enabled: v })),
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => store.remove(edge.id) }, "Remove path")));
    return parts;
  }
}
