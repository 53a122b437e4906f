// The request form of an @openfn/language-http step, as data: check it, write the job code it
// describes, and read it back from code it wrote. No imports and no DOM: Node runs it too.
//
// A form: {method, url, query: [row], headers: [row], body: [row], keep, keepPath} where a
// row is {name, from: "text" | "state" | "json", value}. "state" values are references into
// state such as $.data.patient.id (the job compiler turns them into (state) => ... lazily);
// "json" values are JSON literals (numbers, true, lists). The code starts with a comment
// holding the form as JSON, so a step the form wrote opens in the form again.

export const MARKER = "// @request-form ";
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
export const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const REFERENCE = /^\$(\.[A-Za-z_$][\w$]*|\[\d+\])*$/;
const PATH = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*|\[\d+\])*$/;

export function emptyForm() {
  return { method: "GET", url: "", query: [], headers: [], body: [], keep: "body", keepPath: "" };
}

// Only the keys the form knows, in a fixed order (so the marker JSON compares exactly).
export function normalize(form) {
  const rows = (list) => (Array.isArray(list) ? list : []).map((r) => ({
    name: String(r.name ?? ""), from: ["state", "json"].includes(r.from) ? r.from : "text", value: String(r.value ?? ""),
  }));
  return {
    method: METHODS.includes(String(form.method).toUpperCase()) ? String(form.method).toUpperCase() : "GET",
    url: String(form.url ?? "").trim(),
    query: rows(form.query), headers: rows(form.headers), body: rows(form.body),
    keep: form.keep === "path" ? "path" : "body",
    keepPath: String(form.keepPath ?? "").trim(),
  };
}

// Problems that stop code from being written, each a sentence a person can act on.
export function problems(input) {
  const form = normalize(input);
  const found = [];
  if (!form.url) found.push("Give the URL or a path such as /patients (relative to the credential's baseUrl).");
  else if (/^[a-z]+:/i.test(form.url) && !/^https?:\/\/[^\s/]+/i.test(form.url)) found.push(`${form.url} is not an http(s) URL.`);
  const check = (list, what) => list.forEach((row, i) => {
    const where = `${what} ${i + 1}`;
    if (!row.name.trim()) found.push(`${where} needs a name.`);
    if (row.from === "state" && !REFERENCE.test(row.value.trim())) {
      found.push(`${where}: ${row.value || "(empty)"} is not a reference into state, e.g. $.data.patient.id.`);
    }
    if (row.from === "json") {
      try { JSON.parse(row.value); } catch { found.push(`${where}: ${row.value || "(empty)"} is not JSON (a number, true, "text", [..] or {..}).`); }
    }
  });
  check(form.query, "Query parameter");
  check(form.headers, "Header");
  if (WITH_BODY.has(form.method)) check(form.body, "Body field");
  if (form.keep === "path" && !PATH.test(form.keepPath)) {
    found.push(`Keep: ${form.keepPath || "(empty)"} is not a path in the response, e.g. entry[0].resource.`);
  }
  return found;
}

function value(row) {
  if (row.from === "state") return row.value.trim();
  if (row.from === "json") return JSON.stringify(JSON.parse(row.value));
  return JSON.stringify(row.value);
}

function object(rows, indent) {
  if (!rows.length) return "{}";
  const pad = " ".repeat(indent);
  return `{\n${rows.map((r) => `${pad}  ${JSON.stringify(r.name.trim())}: ${value(r)},`).join("\n")}\n${pad}}`;
}

// The job code for a form; throws an Error listing the problems if there are any.
export function generate(input) {
  const form = normalize(input);
  const found = problems(form);
  if (found.length) throw new Error(found.join(" "));
  // request(method, url, options), not post(url, body, options): the compiler wraps an
  // argument holding `$.` in (state) => ..., which request() resolves but post() spreads away.
  const args = [JSON.stringify(form.method), JSON.stringify(form.url)];
  const options = [];
  if (WITH_BODY.has(form.method)) options.push(`  body: ${object(form.body, 2)},`);
  if (form.query.length) options.push(`  query: ${object(form.query, 2)},`);
  if (form.headers.length) options.push(`  headers: ${object(form.headers, 2)},`);
  if (options.length) args.push(`{\n${options.join("\n")}\n}`);
  const lines = [
    `${MARKER}${JSON.stringify(form)}`,
    "// Written by the request form. Edit the form to change it: by hand, the form no longer applies.",
    `request(${args.join(", ")});`,
  ];
  if (form.keep === "path") lines.push(`fn(state => ({ ...state, data: state.data.${form.keepPath} }));`);
  return lines.join("\n") + "\n";
}

// The form a job's code was written from: {form, matches} (matches: the code is still exactly
// what the form writes), or null if the code does not start with the form's marker.
export function parse(code) {
  const text = String(code ?? "").replace(/\r\n/g, "\n");
  if (!text.startsWith(MARKER)) return null;
  let form;
  try { form = normalize(JSON.parse(text.slice(MARKER.length, text.indexOf("\n") < 0 ? undefined : text.indexOf("\n")))); }
  catch { return null; }
  let matches = false;
  try { matches = generate(form).trimEnd() === text.trimEnd(); } catch { matches = false; }
  return { form, matches };
}
