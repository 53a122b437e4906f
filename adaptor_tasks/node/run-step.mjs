// Executes one job step with @openfn/runtime and classifies the outcome the
// way OpenFn does: success | fail | crash | kill | exception.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import run from '@openfn/runtime';
import { CompileError } from './compiler.mjs';
import { compileJob } from './compile-cache.mjs';
import { instanceKeyFor } from './adaptors.mjs';
import { makeLogger } from './logs.mjs';

const MB = 1024 * 1024;
const STATE_PROPS_TO_REMOVE = ['configuration', 'response'];

const NODE_MODULES = fileURLToPath(new URL('./node_modules/', import.meta.url));
const bundledModules = new Map();

/** {path, version} of a package bundled with the worker (the collections adaptor). */
function bundledModule(name) {
  let found = bundledModules.get(name);
  if (!found) {
    const path = join(NODE_MODULES, name);
    const { version } = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
    found = { path, version };
    bundledModules.set(name, found);
  }
  return found;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function outcome(exitReason, error, extra = {}) {
  return {
    exit_reason: exitReason,
    error_type: error?.type ?? null,
    error_message: error?.message ?? null,
    error_line: error?.line ?? null,
    ...extra,
  };
}

function describeError(error) {
  return {
    type: error.subtype || error.type || error.name || 'Error',
    message: error.message || String(error),
    line: error.pos?.line ?? error.line ?? null,
  };
}

const isPlainObject = (value) =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function stripSecrets(state) {
  const copy = { ...state };
  for (const prop of STATE_PROPS_TO_REMOVE) delete copy[prop];
  return copy;
}

function notAStateFailure(stepId, input, value, logger) {
  const message =
    `Step ${stepId} returned ${Array.isArray(value) ? 'an array' : typeof value} instead of a state object. ` +
    'Each operation must return state, e.g. fn(state => { state.data = ...; return state; })';
  logger.error(message);
  const state = stripSecrets(input);
  state.errors = { ...(state.errors ?? {}), [stepId]: { type: 'JobError', name: 'JobError', severity: 'fail', message } };
  return outcome('fail', { type: 'JobError', message }, { state });
}

function stepPlan(request, compiled) {
  const stepId = request.step_id;
  const name = request.name || stepId;
  return {
    id: stepId,
    workflow: {
      name,
      steps: [
        {
          id: stepId,
          name,
          expression: compiled.code,
          // The runtime maps error positions back to the job source with this.
          sourceMap: { ...compiled.map, sources: [`${name}.js`], sourcesContent: [request.body] },
        },
      ],
    },
    options: {},
  };
}

function runtimeOptions(request, compiled, logger, jobLogger, cacheKey, onJobError) {
  const { adaptor, options = {} } = request;
  const limitBytes = options.state_limit_bytes;
  const modules = { [adaptor.name]: { path: adaptor.path, version: adaptor.version } };
  const whitelist = [new RegExp(`^${escapeRegExp(adaptor.name)}$`), /^@openfn\/runtime$/];
  for (const name of compiled.modules ?? []) {
    const bundled = bundledModule(name);
    modules[name] = bundled;
    whitelist.push(new RegExp(`^${escapeRegExp(name)}$`));
  }
  return {
    logger,
    jobLogger,
    disableEsmHook: true,
    statePropsToRemove: STATE_PROPS_TO_REMOVE,
    stateLimitMb: limitBytes ? limitBytes / MB : undefined,
    defaultRunTimeoutMs: options.timeout_ms || undefined,
    linker: {
      modules,
      whitelist,
      // One module instance per run: adaptor module state is never shared between runs.
      cacheKey,
    },
    callbacks: {
      notify: (event, payload) => {
        if (event === 'job-error') onJobError(payload.error);
      },
    },
  };
}

/**
 * Runs a `run` request and returns the result fields (state still as an object).
 * Logs go to the active sink (see logs.mjs); `onStart` is called once the job is
 * compiled and about to execute (when its time limit starts to count).
 */
export async function runStep(request, onStart = () => {}) {
  const { step_id: stepId, body, adaptor, state: input = {}, options = {} } = request;
  const logger = makeLogger('R/T', options.log_level || 'info');
  const jobLogger = makeLogger('JOB', 'debug');

  let compiled;
  try {
    compiled = await compileJob(body, adaptor);
  } catch (e) {
    if (e instanceof CompileError) {
      const where = e.line ? ` (line ${e.line}, column ${e.column})` : '';
      logger.error(`Failed to compile step ${stepId}: ${e.message}${where}`);
      return outcome('crash', { type: 'CompileError', message: e.message, line: e.line }, { error_column: e.column, state: null });
    }
    if (e.name === 'ImportError') {
      logger.error(e.message);
      return outcome('crash', { type: 'ImportError', message: e.message }, { state: null });
    }
    throw e;
  }

  let jobError = null;
  const cacheKey = await instanceKeyFor(adaptor, request.cache_key);
  const opts = runtimeOptions(request, compiled, logger, jobLogger, cacheKey, (error) => {
    jobError = error;
  });
  let finalState;
  try {
    onStart();
    finalState = await run(stepPlan(request, compiled), input, opts);
  } catch (e) {
    const severity = e?.severity;
    if (severity === 'crash' || severity === 'kill') {
      const error = describeError(e);
      if (e.name === 'StateTooLargeError') {
        error.message = `State exceeds the limit of ${options.state_limit_bytes} bytes`;
      }
      return outcome(severity, error, { state: null });
    }
    throw e;
  }

  if (jobError) return outcome('fail', describeError(jobError), { state: finalState ?? null });
  if (finalState === undefined || finalState === null) {
    logger.warn(
      `Step ${stepId} did not return a state object: the last operation returned nothing. ` +
        'The next step will start from empty state; return state from every operation to pass data on.',
    );
    return outcome('success', null, { state: null });
  }
  if (!isPlainObject(finalState)) return notAStateFailure(stepId, input, finalState, logger);
  return outcome('success', null, { state: finalState });
}
