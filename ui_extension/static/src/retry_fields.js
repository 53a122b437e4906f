// A step's automatic retries: attempts, the wait before the first retry, its growth,
// and whether a kill (time or memory limit) is retried too.
import { h, field, checkbox, shown } from "./dom.js";

const num = (value, fallback) => (value === "" || value == null ? fallback : Number(value));

export function retryFields(store, job, editable) {
  const attempts = job.max_attempts ?? 1;
  if (!editable) {
    return [limitsNote(store), shown("Retries", attempts > 1
      ? `${attempts} attempts, ${job.retry_delay_seconds ?? 0} s apart (x${job.retry_backoff ?? 1})${job.retry_on_kill ? ", kills too" : ""}`
      : "None")];
  }
  const input = (value, attrs, key, fallback) => h("input", { type: "number", value, ...attrs,
    oninput: (e) => store.change(job, { [key]: num(e.target.value, fallback) }) });
  return [h("fieldset", { class: "retries" }, h("legend", {}, "Retries"),
    h("div", { class: "row2" },
      field("Attempts", input(attempts, { min: 1, max: 10, "aria-label": "Attempts" }, "max_attempts", 1),
        "1 means no retry. Only fail and crash are retried."),
      field("Wait (s)", input(job.retry_delay_seconds ?? 0, { min: 0, max: 3600, "aria-label": "Wait before a retry" }, "retry_delay_seconds", 0),
        "Before the first retry."),
      field("Backoff", input(job.retry_backoff ?? 1, { min: 1, max: 10, step: 0.5, "aria-label": "Backoff" }, "retry_backoff", 1),
        "Each further wait is the last one times this.")),
    checkbox("Also retry when the step is killed (time or memory limit)", !!job.retry_on_kill,
      (v) => store.change(job, { retry_on_kill: v }))), limitsNote(store)];
}

// The per-step limits this project's runs get (its own, or the instance's).
export function limitsNote(store) {
  const limits = store.data.run_limits;
  if (!limits) return null;
  const part = (key, unit) => `${limits[key].value.toLocaleString()} ${unit} (${limits[key].source})`;
  return h("p", { class: "hint", id: "step-limits" }, "Limits per step: ",
    part("step_timeout_seconds", "s"), ", ", part("step_memory_limit_mb", "MB memory"), ", ",
    part("state_limit_bytes", "bytes of state"), ". A kill at a limit is retried only if chosen above.");
}
