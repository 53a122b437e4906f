// Small helpers: build elements, labelled form fields, read-only values; requests with CSRF.

let seq = 0;

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "value") node.value = v;
    else if (k === "checked") node.checked = !!v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function uid(prefix = "f") { seq += 1; return `${prefix}-${seq}`; }

// A label, its control and an optional hint (joined with aria-describedby).
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function checkbox(label, checked, onChange, attrs = {}) {
  const input = h("input", { type: "checkbox", id: uid(), checked, onchange: (e) => onChange(e.target.checked), ...attrs });
  return h("div", { class: "field check" }, input, h("label", { for: input.id }, label));
}

export function select(options, value, onChange, attrs = {}) {
  return h("select", { onchange: (e) => onChange(e.target.value), ...attrs },
    options.map(([v, text]) => h("option", { value: v, selected: v === value ? "selected" : null }, text)));
}

export function shown(label, value) {
  return h("div", { class: "field" }, h("span", { class: "label" }, label),
    h("div", { class: "value" }, value === null || value === undefined || value === "" ? "—" : value));
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function request(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `The server could not be reached (${err.message}).` } };
  }
  let data = {};
  try { data = await response.json(); } catch { data = { detail: `Unexpected answer (${response.status}).` }; }
  return { ok: response.ok, status: response.status, data };
}
