// The inspector's panel for a step (job): adaptor, credential, CodeMirror code editor with
// compile warnings at their line, adaptor docs, last run.
import { EditorView, basicSetup } from "codemirror";
import { javascript } from "@codemirror/lang-javascript";
import { EditorState } from "@codemirror/state";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { h, field, select, shown } from "./dom.js";
import { retryFields } from "./retry_fields.js";
import { stepRun } from "./step_run.js";

export function splitAdaptor(spec) {
  const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
  return at < 0 ? [spec, "latest"] : [spec.slice(0, at), spec.slice(at + 1) || "latest"];
}

function datalist(id, values) {
  return h("datalist", { id }, values.map((v) => h("option", { value: v })));
}

function clip(title, c) {
  if (!c) return h("div", {}, h("h4", {}, title), h("p", { class: "hint" }, "Nothing recorded."));
  if (c.wiped) return h("div", {}, h("h4", {}, title), h("p", { class: "hint" }, "Wiped by the project's data retention policy."));
  return h("div", {}, h("h4", {}, title), h("pre", { class: "json", tabindex: 0 }, c.text),
    c.truncated ? h("p", { class: "hint" }, "Cut short here: open the run to see it all.") : null);
}

function lastRun(store, job) {
  const last = store.data.last_steps[job.id];
  const box = h("details", { class: "last-run" }, h("summary", {}, "Input and output of the last run"));
  if (!last) { box.append(h("p", { class: "hint" }, "This step has not run yet.")); return box; }
  box.append(h("p", {}, `Exit: ${last.exit_reason || "running"}`, last.finished_at ? `, finished ${last.finished_at.replace("T", " ")}` : "", ". ",
    h("a", { href: last.run_url }, "Open the run")));
  if (last.error_message) box.append(h("p", { class: "alert" }, last.error_message));
  box.append(h("div", { class: "io" }, clip("Input", last.input), clip("Output", last.output)));
  return box;
}

function loadOperations(store, target, adaptor) {
  const url = `${store.data.base_path}/adaptors/operations?adaptor=${encodeURIComponent(adaptor)}`;
  target.replaceChildren(h("p", { class: "hint" }, `Loading the operations of ${adaptor}…`));
  if (window.htmx) window.htmx.ajax("GET", url, { target, swap: "innerHTML" });
}

export function jobPanel(inspector, job) {
  const { store } = inspector;
  const data = store.data;
  const editable = store.editable;
  const warnings = store.compileFor(job.id);
  const parts = [h("h2", {}, `Step: ${job.name}`)];
  const [name, version] = splitAdaptor(job.adaptor);
  const ops = h("div", { class: "operations", "aria-live": "polite" });
  const credentials = data.credentials;
  if (editable) {
    const nameInput = h("input", { type: "text", value: job.name, required: true, "aria-required": "true",
      oninput: (e) => store.change(job, { name: e.target.value }) });
    const adaptorInput = h("input", { type: "text", value: name, list: "adaptor-names", spellcheck: "false" });
    const versionInput = h("input", { type: "text", value: version, list: `adaptor-versions`, spellcheck: "false" });
    const setAdaptor = () => {
      store.change(job, { adaptor: `${adaptorInput.value.trim()}@${versionInput.value.trim() || "latest"}` });
      versionList.replaceWith((versionList = versions(adaptorInput.value.trim())));
      loadOperations(store, ops, job.adaptor);
    };
    const versions = (n) => datalist("adaptor-versions", (data.adaptors.find((a) => a.name === n) || { versions: ["latest"] }).versions);
    let versionList = versions(name);
    adaptorInput.addEventListener("change", setAdaptor);
    versionInput.addEventListener("change", setAdaptor);
    parts.push(field("Name", nameInput),
      h("div", { class: "row2" },
        field("Adaptor", adaptorInput, "An OpenFn adaptor, e.g. @openfn/language-http."),
        field("Version", versionInput, "A version, or latest (pinned when saved).")),
      datalist("adaptor-names", data.adaptors.map((a) => a.name)), versionList,
      field("Credential", select([["", "No credential"], ...credentials.map((c) => [c.id, c.name])], job.project_credential_id || "",
        (v) => store.change(job, { project_credential_id: v || null })), credentials.length ? null : "No credentials are shared with this project yet."));
  } else {
    const credential = credentials.find((c) => c.id === job.project_credential_id);
    parts.push(shown("Adaptor", job.adaptor), shown("Credential", credential ? credential.name : job.project_credential_id ? "(not visible to you)" : "None"));
  }
  parts.push(...retryFields(store, job, editable));
  const editorBox = h("div", { class: "editor" });
  const codeLabel = h("h3", { id: `code-${job.id}` }, "Code");
  parts.push(codeLabel, editorBox);
  if (warnings.length) {
    parts.push(h("div", { class: "warning", role: "status" }, h("strong", {}, "Compile problems (saved anyway): "),
      h("ul", {}, warnings.map((w) => h("li", {}, w.line ? `Line ${w.line}: ${w.message}` : w.message)))));
  }
  inspector.after.push(() => {
    inspector.mountEditor(editorBox, job);
    loadOperations(store, ops, job.adaptor);
  });
  if (editable) {
    const targets = store.connectable(job.id);
    const connect = select([["", "Choose a step…"], ...targets.map((t) => [t.id, t.name])], "", () => {}, { "aria-label": "Step to connect to" });
    parts.push(h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => store.addJob(job.id) }, "Add next step"),
      h("span", { class: "row" }, connect, h("button", { type: "button", disabled: !targets.length,
        onclick: () => connect.value && store.addEdge(job.id, connect.value) }, "Connect")),
      h("button", { type: "button", class: "danger", onclick: () => { if (confirm(`Remove the step ${job.name} and its paths?`)) store.remove(job.id); } }, "Remove step")));
  }
  parts.push(stepRun(store, job));
  parts.push(lastRun(store, job), h("details", { class: "docs", open: editable ? true : null },
    h("summary", {}, "Adaptor operations"), ops));
  return parts;
}

export function createEditor(parent, { doc, readOnly, label, onChange }) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        basicSetup,
        javascript(),
        lintGutter(),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return view;
}

// Show compile problems ({message, line, column}) as warnings in the editor.
export function showWarnings(view, warnings) {
  const doc = view.state.doc;
  const diagnostics = warnings.map((w) => {
    const line = doc.line(Math.min(Math.max(w.line || 1, 1), doc.lines));
    const from = Math.min(line.from + Math.max(w.column || 0, 0), line.to);
    return { from, to: Math.max(from, line.to), severity: "warning", message: w.message };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

export function insertAtCursor(view, text) {
  const { from, to } = view.state.selection.main;
  view.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
  view.focus();
}
