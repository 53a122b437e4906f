// The builder's test cases: list them, add one (a named input plus expected data or an
// assertion), and run them all on the editor's unsaved workflow, with a diff per failure.
import { h, request, uid } from "./dom.js";

function caseRow(c) {
  const checks = [c.has_expected_data ? "expected data" : null, c.assertion ? `assert ${c.assertion}` : null].filter(Boolean).join(" and ");
  return h("li", {}, h("strong", {}, c.name), ` on “${c.input || "(input gone)"}”: ${checks}`);
}

function resultView(r) {
  return h("li", { class: r.passed ? "pass" : "fail", "data-case": r.name },
    h("strong", {}, r.passed ? "PASS " : "FAIL "), r.name,
    r.problems.length ? h("ul", {}, r.problems.map((p) => h("li", {}, p))) : null,
    r.diff ? h("pre", { class: "diff", tabindex: 0 }, r.diff) : null);
}

export function setupTestCases(store, toggle, panel) {
  if (!toggle || !panel) return;
  const data = store.data;
  const base = `/api/workflows/${data.workflow_id}/test_cases`;
  const list = h("ul", { class: "test-cases" });
  const results = h("div", { class: "test-results", "aria-live": "polite" });
  const status = h("p", { role: "status", "aria-live": "polite" });

  const load = async () => {
    const { ok, data: cases } = await request("GET", base);
    if (!ok) { list.replaceChildren(h("li", {}, cases.detail || "Could not load the test cases.")); return; }
    list.replaceChildren(...(cases.length ? cases.map(caseRow) : [h("li", { class: "hint" }, "No test cases yet.")]));
  };

  const runAll = h("button", { type: "button", class: "primary" }, "Run test cases on this draft");
  runAll.addEventListener("click", async () => {
    runAll.disabled = true;
    status.textContent = "Running the test cases on the workflow as it is in the editor…";
    const { ok, data: answer } = await request("POST", `${base}/run`, { document: store.doc });
    runAll.disabled = false;
    if (!ok) { status.textContent = answer.detail || "The test cases could not run."; return; }
    status.textContent = `${answer.passed} passed, ${answer.failed} failed.`;
    results.replaceChildren(h("ul", {}, answer.results.map(resultView)));
  });

  const parts = [h("h2", {}, "Test cases"), list, runAll, status, results];
  if (data.permissions.edit) parts.push(addForm(data, base, load));
  panel.replaceChildren(...parts);

  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) load();
  });
}

function addForm(data, base, reload) {
  const named = data.named_inputs || [];
  const name = h("input", { type: "text", id: uid("tc-name"), required: true, maxlength: 255 });
  const input = h("select", { id: uid("tc-input") }, named.map((n) => h("option", { value: n.name }, n.name)));
  const expected = h("textarea", { id: uid("tc-expected"), rows: 3, spellcheck: "false", placeholder: '{"id": 5}' });
  const assertion = h("input", { type: "text", id: uid("tc-assert"), spellcheck: "false", placeholder: "state.data.id === 5" });
  const status = h("p", { role: "status", "aria-live": "polite" });
  const form = h("form", { class: "add-test-case" },
    h("h3", {}, "Add a test case"),
    named.length ? null : h("p", { class: "hint" }, "Name an input on a run's page first (“Keep as test input”)."),
    h("div", { class: "field" }, h("label", { for: name.id }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: input.id }, "Named input"), input),
    h("div", { class: "field" }, h("label", { for: expected.id }, "Expected data (JSON, the final state's data)"), expected),
    h("div", { class: "field" }, h("label", { for: assertion.id }, "Assertion (JS on the final state)"), assertion),
    h("button", { type: "submit", disabled: !named.length }, "Add test case"), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const payload = { name: name.value, input: input.value };
    if (expected.value.trim()) {
      try { payload.expected_data = JSON.parse(expected.value); }
      catch (err) { status.textContent = `Expected data is not valid JSON: ${err.message}`; expected.focus(); return; }
    }
    if (assertion.value.trim()) payload.assertion = assertion.value.trim();
    const { ok, data: answer } = await request("POST", base, payload);
    if (!ok) {
      const detail = Array.isArray(answer.detail) ? answer.detail.map((d) => d.msg).join("; ") : answer.detail;
      status.textContent = detail || "The test case was not saved.";
      return;
    }
    status.textContent = `Saved “${answer.name}”.`;
    form.reset();
    reload();
  });
  return form;
}
