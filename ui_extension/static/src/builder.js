// The workflow builder page: wires the store to the diagram, list, inspector, toolbar and dialogs.
import htmx from "htmx.org";
import { Store } from "./store.js";
import { Canvas, renderOutline } from "./canvas.js";
import { Inspector } from "./inspector.js";
import { h, request, csrfToken } from "./dom.js";
import { setupTestCases } from "./test_cases.js";

window.htmx = htmx;

function $(selector) { return document.querySelector(selector); }

function start() {
  const data = JSON.parse($("#builder-data").textContent);
  const store = new Store(data);
  const canvas = new Canvas($("#canvas"), store);
  const inspector = new Inspector($("#inspector-body"), store);
  const outline = $("#outline");
  const status = $("#save-status");
  const problems = $("#problems");
  const saveButton = $("#save");

  document.body.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrfToken(); });

  const syncUrl = () => {
    if (!store.data.workflow_id) return;
    const url = new URL(window.location.href);
    url.pathname = `/projects/${store.data.project_id}/workflows/${store.data.workflow_id}`;
    if (store.selected) url.searchParams.set("s", store.selected); else url.searchParams.delete("s");
    window.history.replaceState(null, "", url);
  };

  const showProblems = (message, list, extra) => {
    problems.replaceChildren();
    if (!message) { problems.hidden = true; return; }
    problems.hidden = false;
    problems.append(h("p", {}, h("strong", {}, message)));
    if (list && list.length) {
      problems.append(h("ul", {}, list.map((p) => h("li", {}, p.message,
        p.target && p.target.id && store.find(p.target.id) ? h("button", { type: "button", class: "linklike", onclick: () => store.select(p.target.id) }, ` Show ${store.nodeName(p.target.id)}`) : null))));
    }
    if (extra) problems.append(extra);
  };

  const everything = () => { canvas.render(); renderOutline(outline, store); inspector.render(); };
  store.on((change) => {
    if (change.type === "doc") {
      canvas.render();
      renderOutline(outline, store);
      status.textContent = "Unsaved changes.";
    } else {
      everything();
      if (change.type === "select") syncUrl();
    }
  });

  const nameInput = $("#workflow-name");
  if (nameInput) nameInput.addEventListener("input", (e) => store.change(store.doc, { name: e.target.value }));

  async function save() {
    if (!store.editable) return;
    saveButton.disabled = true;
    status.textContent = "Saving…";
    const isNew = !store.data.workflow_id;
    const url = isNew ? `${data.base_path}/workflows` : `${data.base_path}/workflows/${store.data.workflow_id}`;
    const { ok, status: code, data: answer } = await request(isNew ? "POST" : "PUT", url, { document: store.doc, trigger_auth: store.triggerAuth });
    saveButton.disabled = false;
    if (ok) {
      store.saved(answer);
      syncUrl();
      const n = answer.compile.length;
      status.textContent = `Saved (version ${answer.workflow.lock_version})${n ? `, with ${n} compile warning${n > 1 ? "s" : ""}` : ""}.`;
      showProblems(answer.warnings.length ? "Saved, but:" : null, answer.warnings.map((message) => ({ message })));
      document.querySelectorAll("[data-needs-saved]").forEach((b) => { b.disabled = false; });
      return;
    }
    status.textContent = "Not saved.";
    if (code === 409 && answer.stale) {
      showProblems(answer.detail, [], h("a", { class: "button", href: window.location.href }, "Reload the workflow"));
      return;
    }
    store.problems = answer.errors || [];
    store.emit({ type: "problems" });
    showProblems(answer.detail || "The workflow could not be saved.", store.problems);
  }

  if (saveButton) saveButton.addEventListener("click", save);
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
  });
  window.addEventListener("beforeunload", (e) => { if (store.dirty) { e.preventDefault(); e.returnValue = ""; } });

  const addStep = $("#add-step");
  if (addStep) addStep.addEventListener("click", () => {
    const found = store.selected && store.find(store.selected);
    store.addJob(found && found.kind !== "edge" ? found.item.id : null);
  });
  const autoLayout = $("#auto-layout");
  if (autoLayout) autoLayout.addEventListener("click", () => { store.doc.positions = {}; store.touch(); });

  const runDialog = $("#run-dialog");
  const runButton = $("#run");
  if (runDialog && runButton) runButton.addEventListener("click", setupRunDialog(runDialog, store));

  setupVersions(store);
  setupTestCases(store, $("#test-cases-toggle"), $("#test-cases-panel"));
  everything();
  if (data.selected) store.select(data.selected);
  status.textContent = store.data.workflow_id ? "" : "New workflow: not saved yet.";
}

function setupVersions(store) {
  const button = $("#versions-toggle");
  const panel = $("#versions-panel");
  if (!button || !panel) return;
  const load = () => htmx.ajax("GET", `${store.data.base_path}/workflows/${store.data.workflow_id}/versions`, { target: "#versions-list", swap: "innerHTML" });
  button.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) load();
  });
  const params = new URLSearchParams(window.location.search);
  if (params.get("versions")) {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    load();
    if (params.get("from")) {
      const query = new URLSearchParams({ from: params.get("from") });
      if (params.get("to")) query.set("to", params.get("to"));
      htmx.ajax("GET", `${store.data.base_path}/workflows/${store.data.workflow_id}/versions/diff?${query}`, { target: "#version-diff", swap: "innerHTML" });
    }
  }
}

// "Run": a manual run of the saved workflow with custom JSON or a previous input.
function setupRunDialog(dialog, store) {
  const form = dialog.querySelector("form");
  const status = dialog.querySelector("[data-run-status]");
  const custom = form.elements.namedItem("body");
  const clips = form.elements.namedItem("dataclip_id");
  const start = form.elements.namedItem("start_job_id");
  for (const c of store.data.inputs) clips.append(h("option", { value: c.id }, c.label));
  if (!store.data.inputs.length) form.querySelector("[data-previous]").disabled = true;

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (e.submitter && e.submitter.value === "cancel") { dialog.close(); return; }
    const payload = { start_job_id: start.value || null };
    if (form.elements.namedItem("source").value === "previous") payload.dataclip_id = clips.value;
    else {
      try { payload.body = JSON.parse(custom.value || "{}"); }
      catch (err) { status.textContent = `That is not valid JSON: ${err.message}`; custom.focus(); return; }
    }
    status.textContent = "Starting…";
    const url = `${store.data.base_path}/workflows/${store.data.workflow_id}/runs`;
    const { ok, data } = await request("POST", url, payload);
    status.replaceChildren(ok ? h("span", {}, "Run queued. ", h("a", { href: data.url, "data-run-link": data.run_id }, "Open the run")) : (data.detail || "The run could not start."));
  });

  return () => {
    start.replaceChildren(h("option", { value: "" }, "The trigger (start of the workflow)"),
      ...store.doc.jobs.map((j) => h("option", { value: j.id, selected: j.id === store.selected ? "selected" : null }, `Step: ${j.name}`)));
    status.textContent = store.dirty ? "You have unsaved changes: this runs the last saved version." : "";
    dialog.showModal();
  };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
