// Evaluates an edge's js_expression (e.g. `state.data.age > 18`) in a fresh,
// restricted vm context that holds only a copy of state and the JS builtins.
import vm from 'node:vm';

const DEFAULT_TIMEOUT_MS = 250;

export class ConditionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConditionError';
  }
}

/**
 * @param {string} expression  body of `return <expression>`, as OpenFn compiles edge conditions
 * @param {object} state       state after the upstream step
 * @param {{upstreamStepId?: string, timeoutMs?: number}} options
 * @returns {boolean}
 */
export function evaluateCondition(expression, state, { upstreamStepId = null, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  if (typeof expression !== 'string' || !expression.trim()) {
    throw new ConditionError('Edge condition is empty');
  }
  const context = vm.createContext(
    { __stateJson: JSON.stringify(state ?? {}), __upstreamStepId: upstreamStepId },
    { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' },
  );
  // State is rebuilt inside the context so the expression never touches a host object.
  const source =
    '(function (state, upstreamStepId) {\n' +
    `return ${expression}\n` +
    '})(JSON.parse(__stateJson), __upstreamStepId)';
  let script;
  try {
    script = new vm.Script(source, { filename: 'condition.js' });
  } catch (e) {
    throw new ConditionError(`Invalid edge condition "${expression}": ${e.message}`);
  }
  try {
    return Boolean(script.runInContext(context, { timeout: timeoutMs }));
  } catch (e) {
    const reason = e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? `timed out after ${timeoutMs}ms` : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    throw new ConditionError(`Edge condition "${expression}" failed: ${reason}`);
  }
}
