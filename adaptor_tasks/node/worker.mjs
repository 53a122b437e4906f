// Long-lived worker: reads newline-delimited JSON requests on stdin and writes
// newline-delimited JSON answers to a dedicated file descriptor
// (--protocol-fd=N), so nothing a job or adaptor prints can corrupt the channel.
// Requests are handled one at a time, in order.
//
// Requests                                         Answers (same id)
//   {id, op:"run", step_id, name?, body,             {id, type:"started"} once compiled, when the time limit starts
//                                                    {id, type:"log", timestamp, level, source, message}*
//    adaptor:{name, version, path}, state,           {id, type:"result", exit_reason, error_type,
//    options:{state_limit_bytes, timeout_ms,           error_message, error_line, [error_column],
//             log_level?}}                             state, duration_ms, heap_used_bytes}
//   {id, op:"condition", expression, state,          {id, type:"result", value: boolean}
//    upstream_step_id?, timeout_ms?}
//   {id, op:"exports", adaptor}                      {id, type:"result", exports: [name]}
//   {id, op:"compile", body, adaptor}                {id, type:"result", code, imports}
//   {id, op:"ping"}                                  {id, type:"result", pong: true}
// Any request may instead be answered {id, type:"error", error:{type, message, line?, column?}}.
// On start the worker sends {type:"ready", pid, node}.
// Log sources: "R/T" runtime, "JOB" console in the job, "ADA" console in adaptor code.
// --preload=[adaptor, ...] warms those adaptors (import + compile) right after start.
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { CompileError } from './compiler.mjs';
import { compileJob } from './compile-cache.mjs';
import { adaptorExports, prepareSpareInstance } from './adaptors.mjs';
import { evaluateCondition } from './condition.mjs';
import { captureConsole, clearSink, makeLogger, setSink } from './logs.mjs';
import { runStep } from './run-step.mjs';

const argValue = (name) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? undefined : arg.slice(name.length + 3);
};
const PROTOCOL_FD = Number(argValue('protocol-fd') ?? 3);
const PARENT_PID = Number(argValue('parent-pid') ?? process.ppid);
const PRELOAD = JSON.parse(argValue('preload') ?? '[]');

function writeLine(line) {
  const buffer = Buffer.from(`${line}\n`, 'utf8');
  let offset = 0;
  while (offset < buffer.length) offset += writeSync(PROTOCOL_FD, buffer, offset);
}

const send = (message) => writeLine(JSON.stringify(message));

function errorPayload(error) {
  const payload = { type: error?.name || 'Error', message: error?.message || String(error) };
  if (error instanceof CompileError) Object.assign(payload, { line: error.line, column: error.column });
  return payload;
}

async function handleRun(request) {
  const started = performance.now();
  setSink((entry) => send({ id: request.id, type: 'log', ...entry }));
  let result;
  try {
    result = await runStep(request, () => send({ id: request.id, type: 'started' }));
  } catch (e) {
    makeLogger('R/T').error(`Unexpected error while running step ${request.step_id}: ${e?.stack || e}`);
    result = { exit_reason: 'exception', error_type: e?.name || 'Error', error_message: e?.message || String(e), error_line: null, state: null };
  } finally {
    clearSink();
  }
  const { state, ...fields } = result;
  let stateJson = state === null || state === undefined ? 'null' : JSON.stringify(state);
  const limit = request.options?.state_limit_bytes;
  if (limit && Buffer.byteLength(stateJson, 'utf8') > limit) {
    Object.assign(fields, {
      exit_reason: 'kill',
      error_type: 'StateTooLargeError',
      error_message: `State exceeds the limit of ${limit} bytes`,
      error_line: null,
    });
    stateJson = 'null';
  }
  const tail = JSON.stringify({
    ...fields,
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    heap_used_bytes: getHeapStatistics().used_heap_size,
  });
  // The state is already serialized: splice it in rather than stringify it twice.
  const head = JSON.stringify({ id: request.id, type: 'result' });
  writeLine(`${head.slice(0, -1)},"state":${stateJson},${tail.slice(1)}`);
}

async function handle(request) {
  switch (request.op) {
    case 'run':
      await handleRun(request);
      // Off the critical path: the next step with this adaptor finds its module ready.
      prepareSpareInstance(request.adaptor).catch(() => {});
      return undefined;
    case 'condition': {
      const value = evaluateCondition(request.expression, request.state, {
        upstreamStepId: request.upstream_step_id ?? null,
        timeoutMs: request.timeout_ms,
      });
      return send({ id: request.id, type: 'result', value });
    }
    case 'exports':
      return send({ id: request.id, type: 'result', exports: await adaptorExports(request.adaptor) });
    case 'compile': {
      const { code, imports } = await compileJob(request.body, request.adaptor);
      return send({ id: request.id, type: 'result', code, imports });
    }
    case 'ping':
      return send({ id: request.id, type: 'result', pong: true });
    default:
      throw new Error(`Unknown op: ${request.op}`);
  }
}

function installSafetyNets() {
  const runtimeLogger = makeLogger('R/T', 'info', { fallback: true });
  // Work a job leaves behind (timers, dangling promises) must not take the worker down.
  process.on('uncaughtException', (e) => runtimeLogger.error(`Uncaught error: ${e?.stack || e}`));
  process.on('unhandledRejection', (e) => runtimeLogger.error(`Unhandled rejection: ${e?.stack || e}`));
}

// Pays the first-use costs (parser, adaptor imports) before the first step needs them.
async function warmUp() {
  for (const adaptor of PRELOAD) {
    try {
      await compileJob('fn(state => state)', adaptor);
      await prepareSpareInstance(adaptor);
    } catch (e) {
      console.error(`Could not preload ${adaptor.name}: ${e.message}`);
    }
  }
}

function startOrphanWatchdog() {
  const watchdog = new Worker(new URL('./watchdog.mjs', import.meta.url), {
    workerData: { parentPid: PARENT_PID },
  });
  watchdog.unref();
}

async function main() {
  startOrphanWatchdog();
  captureConsole();
  installSafetyNets();
  send({ type: 'ready', pid: process.pid, node: process.version });
  warmUp();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch (e) {
      send({ id: null, type: 'error', error: { type: 'ProtocolError', message: `Invalid JSON request: ${e.message}` } });
      continue;
    }
    try {
      await handle(request);
    } catch (e) {
      clearSink();
      send({ id: request.id ?? null, type: 'error', error: errorPayload(e) });
    }
  }
  process.exit(0);
}

main();
