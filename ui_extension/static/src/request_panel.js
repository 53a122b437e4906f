// The request form in the panel of an @openfn/language-http step: method, URL or path, query
// parameters, headers, JSON body and what to keep from the response. Each valid change writes
// the step's code (request_form.js); code edited by hand puts the form aside with a note.
import { h, field, select, uid } from "./dom.js";
import { emptyForm, generate, parse, problems, METHODS, WITH_BODY } from "./request_form.js";

const SOURCES = [["text", "Text"], ["state", "From state"], ["json", "JSON value"]];
const STARTER = /^\s*(fn\(state => state\);?)?\s*$/;

export function isHttpStep(job) { return /^@openfn\/language-http(@|$)/.test(job.adaptor || ""); }

// The section for `job`, or null when the step does not use the HTTP adaptor.
export function requestSection(inspector, job) {
  if (!isHttpStep(job)) return null;
  const { store } = inspector;
  const box = h("section", { class: "request-form", "aria-labelledby": `request-${job.id}` });
  let written = parse(job.body);

  // The code changed in the editor: still the form's, or edited by hand?
  const kind = (w) => (!w ? "none" : w.matches ? "form" : "stale");
  inspector.codeChanged = (body) => {
    const before = kind(written);
    written = parse(body);
    if (kind(written) !== before) show();
  };

  const writeCode = (code) => {
    const view = inspector.editor;
    if (view) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    else store.change(job, { body: code });
  };

  const startForm = (form) => {
    const fresh = STARTER.test(job.body || "");
    if (!fresh && !confirm("Replace this step's code with the code the request form writes?")) return;
    const code = generate(form);
    written = { form, matches: true };
    writeCode(code);
    show();
  };

  function show() {
    const heading = h("h3", { id: `request-${job.id}` }, "Request");
    if (written && written.matches) {
      box.replaceChildren(heading, formView(store, written.form, (form) => { written = { form, matches: true }; writeCode(generate(form)); }));
      return;
    }
    if (written) {
      box.replaceChildren(heading, h("p", { class: "warning", role: "status", "data-form-stale": "" },
        "The code was edited by hand, so the request form no longer applies: edit the code below.",
        store.editable ? h("button", { type: "button", onclick: () => startForm(written.form) }, "Use the form again (replaces the code)") : null));
      return;
    }
    box.replaceChildren(heading, h("p", { class: "hint" }, "Build the HTTP request with a form instead of writing code."),
      store.editable ? h("button", { type: "button", onclick: () => startForm({ ...emptyForm(), url: "/" }) }, "Build the request with a form") : null);
  }
  show();
  return box;
}

// The form itself; `onValid(form)` gets every change that has no problems.
function formView(store, initial, onValid) {
  const form = structuredClone(initial);
  const disabled = !store.editable;
  const status = h("div", { class: "alert", role: "alert", hidden: true });
  const changed = () => {
    const found = problems(form);
    status.hidden = !found.length;
    status.replaceChildren(...(found.length ? [h("strong", {}, "The code is not updated until this is fixed:"), h("ul", {}, found.map((p) => h("li", {}, p)))] : []));
    if (!found.length) onValid(structuredClone(form));
  };
  const input = (value, onInput, attrs = {}) => h("input", { type: "text", value, disabled, spellcheck: "false", ...attrs,
    oninput: (e) => { onInput(e.target.value); changed(); } });

  const rows = (key, title, singular, sources) => {
    const set = h("fieldset", { class: "rows" }, h("legend", {}, title));
    const draw = () => {
      const list = form[key];
      set.replaceChildren(h("legend", {}, title), ...list.map((row, i) => {
        const n = `${singular} ${i + 1}`;
        return h("div", { class: "request-row" },
          input(row.name, (v) => { row.name = v; }, { "aria-label": `${n} name`, placeholder: "name" }),
          select(sources, row.from, (v) => { row.from = v; changed(); }, { "aria-label": `${n} source`, disabled }),
          input(row.value, (v) => { row.value = v; }, { "aria-label": `${n} value`, placeholder: "value or $.data.…" }),
          disabled ? null : h("button", { type: "button", "aria-label": `Remove ${n.toLowerCase()}`, onclick: () => { list.splice(i, 1); draw(); changed(); } }, "×"));
      }), disabled ? null : h("button", { type: "button", onclick: () => { list.push({ name: "", from: "text", value: "" }); draw(); set.querySelectorAll("input")[list.length * 2 - 2].focus(); } }, `Add ${singular.toLowerCase()}`));
    };
    draw();
    return set;
  };

  const body = rows("body", "JSON body", "Body field", SOURCES);
  body.hidden = !WITH_BODY.has(form.method);
  const keepPath = input(form.keepPath, (v) => { form.keepPath = v; }, { "aria-label": "Response path to keep", placeholder: "entry[0].resource" });
  keepPath.hidden = form.keep !== "path";
  const keepName = uid("keep");
  const keep = h("fieldset", { class: "keep" }, h("legend", {}, "Keep from the response"),
    ...[["body", "The whole body, as data"], ["path", "Only this path in the body, as data:"]].map(([value, text]) => {
      const radio = h("input", { type: "radio", name: keepName, value, id: uid(), checked: form.keep === value, disabled,
        onchange: () => { form.keep = value; keepPath.hidden = value !== "path"; changed(); } });
      return h("div", { class: "field check" }, radio, h("label", { for: radio.id }, text));
    }), keepPath);

  return h("div", {},
    h("div", { class: "row2 request-line" },
      field("Method", select(METHODS.map((m) => [m, m]), form.method, (v) => { form.method = v; body.hidden = !WITH_BODY.has(v); changed(); }, { disabled })),
      field("URL or path", input(form.url, (v) => { form.url = v; }, { placeholder: "/patients" }),
        "A path is joined to the credential's baseUrl; or give a full https:// URL.")),
    rows("query", "Query parameters", "Query parameter", SOURCES.slice(0, 2)),
    rows("headers", "Headers", "Header", SOURCES.slice(0, 2)),
    body, keep, status,
    h("p", { class: "hint" }, "Values from state are references such as $.data.patient.id, read when the step runs. The code below is written by this form."));
}
