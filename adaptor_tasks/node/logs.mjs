// Turns @openfn/logger output into protocol log entries and routes every
// console write of the worker process (adaptor code) to the active request.
import createLogger from '@openfn/logger';

const LEVELS = ['log', 'info', 'success', 'always', 'debug', 'warn', 'error'];
// Lightning shows four levels; OpenFn's extra ones are informational.
const LEVEL_NAMES = { log: 'info', success: 'info', always: 'info' };

const originalConsole = { ...console };
let activeSink = null;

/** Routes log entries to `sink(entry)` until `clearSink()` (one request at a time). */
export function setSink(sink) {
  activeSink = sink;
}

export function clearSink() {
  activeSink = null;
}

function safeStringify(value) {
  const seen = new WeakSet();
  return JSON.stringify(
    value,
    (_key, v) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
      if (v && typeof v === 'object') {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    },
    2,
  );
}

/** Joins logged values the way OpenFn's CLI prints them: strings as-is, the rest as JSON. */
export function formatMessage(parts) {
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part === undefined) return 'undefined';
      try {
        return safeStringify(part) ?? String(part);
      } catch {
        return String(part);
      }
    })
    .join(' ');
}

function toEntry(output) {
  const level = LEVEL_NAMES[output.level] ?? output.level;
  return {
    timestamp: new Date().toISOString(),
    level,
    source: output.name,
    message: formatMessage(output.message ?? []),
  };
}

function makeEmitter(fallback) {
  const emitter = {};
  for (const level of LEVELS) {
    emitter[level] = (output) => {
      if (activeSink) activeSink(toEntry(output));
      else if (fallback) originalConsole.error(`[${output.name}]`, formatMessage(output.message ?? []));
    };
  }
  return emitter;
}

/** A JSON-mode @openfn/logger whose lines go to the active request. */
export function makeLogger(name, level = 'info', { fallback = false } = {}) {
  const logger = createLogger(name, { level, json: true, logger: makeEmitter(fallback) });
  // The runtime prints blank separator lines with break(); they carry nothing.
  logger.break = () => {};
  return logger;
}

/** Sends every console call made outside the job sandbox (adaptor code) to an "ADA" logger. */
export function captureConsole() {
  const adaptorLogger = makeLogger('ADA', 'debug', { fallback: true });
  const route = {
    log: adaptorLogger.info,
    info: adaptorLogger.info,
    debug: adaptorLogger.debug,
    trace: adaptorLogger.debug,
    warn: adaptorLogger.warn,
    error: adaptorLogger.error,
    dir: adaptorLogger.info,
    table: adaptorLogger.info,
  };
  for (const [method, target] of Object.entries(route)) {
    console[method] = (...args) => target(...args);
  }
}
