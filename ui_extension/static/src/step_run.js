// "Run this step": the selected step alone, with the code as it is in the editor (saved or
// not), on a named, previous or custom input; its output and logs shown in the job panel.
import { h, request, uid } from "./dom.js";

function inputChoices(data) {
  const named = data.named_inputs || [];
  const recent = (data.inputs || []).filter((i) => !named.some((n) => n.id === i.id));
  return [
    ...named.map((n) => h("option", { value: n.id }, `Named: ${n.name}`)),
    ...recent.map((i) => h("option", { value: i.id }, i.label)),
    h("option", { value: "custom" }, "Custom JSON"),
  ];
}

function showResult(target, data) {
  const logs = (data.logs || []).map((l) => `${l.timestamp.slice(11, 23)} ${l.source} ${l.message}`).join("\n");
  target.replaceChildren(...[
    h("p", { "data-step-exit": data.exit_reason }, `Exit: ${data.exit_reason}`, ` (${data.duration_ms} ms)`),
    data.error_message ? h("p", { class: "alert" }, data.error_type ? `${data.error_type}: ${data.error_message}` : data.error_message) : null,
    h("h4", {}, "Output"),
    h("pre", { class: "json", tabindex: 0, "data-step-output": "" }, data.output === null || data.output === undefined ? "(no output state)" : JSON.stringify(data.output, null, 2)),
    h("h4", {}, "Logs"),
    h("pre", { class: "logs", tabindex: 0, "data-step-logs": "" }, logs || "(no log lines)"),
  ].filter(Boolean));
}

export function stepRun(store, job) {
  const data = store.data;
  if (!data.workflow_id || !data.permissions.run) return null;
  const choice = h("select", { id: uid("step-input") }, inputChoices(data));
  const custom = h("textarea", { id: uid("step-body"), rows: 4, spellcheck: "false" }, '{"data": {}}');
  const customField = h("div", { class: "field" }, h("label", { for: custom.id }, "Custom input (JSON state)"), custom);
  const status = h("p", { role: "status", "aria-live": "polite" });
  const result = h("div", { class: "step-result", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "primary" }, "Run step");
  const toggle = () => { customField.hidden = choice.value !== "custom"; };
  choice.addEventListener("change", toggle);
  toggle();

  button.addEventListener("click", async () => {
    const payload = {
      job: { body: job.body || "", adaptor: job.adaptor, project_credential_id: job.project_credential_id || null, name: job.name },
    };
    if (choice.value === "custom") {
      try { payload.body = JSON.parse(custom.value || "{}"); }
      catch (err) { status.textContent = `That is not valid JSON: ${err.message}`; custom.focus(); return; }
    } else payload.dataclip_id = choice.value;
    button.disabled = true;
    status.textContent = "Running the step…";
    const answer = await request("POST", `/api/workflows/${data.workflow_id}/jobs/${job.id}/run`, payload);
    button.disabled = false;
    if (!answer.ok) { status.textContent = answer.data.detail || "The step could not run."; return; }
    status.textContent = "Done: nothing was recorded in the history.";
    showResult(result, answer.data);
  });

  return h("details", { class: "step-run", open: true },
    h("summary", {}, "Run this step"),
    h("div", { class: "field" }, h("label", { for: choice.id }, "Input for this step"), choice),
    customField,
    h("p", { class: "hint" }, "Runs only this step, with the code in the editor (saved or not) and its credential."),
    button, status, result);
}
