// Adaptor packages: entry points and export names (what the compiler may import).
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { getModuleEntryPoint, registerEsmHook } from '@openfn/runtime';
import { declaredExportOrder, inExportOrder } from './export-order.mjs';

const MAX_SPARES = 8;
const MAX_RUN_INSTANCES = 64;
const entriesByDir = new Map();
const exportNamesByEntry = new Map();
// entry path -> cache key of an imported adaptor instance that no step has used yet
const spareInstanceKeys = new Map();
// `${entry path} ${run key}` -> the instance the steps of that run share (oldest first)
const runInstanceKeys = new Map();
let esmHookRegistered = false;

function importError(message) {
  const error = new Error(message);
  error.name = 'ImportError';
  return error;
}

/** The ESM entry file ({path, version}) of an installed adaptor package directory. */
export async function adaptorEntry(adaptor) {
  let entry = entriesByDir.get(adaptor.path);
  if (!entry) {
    try {
      entry = await getModuleEntryPoint(adaptor.name, adaptor.path);
    } catch (e) {
      throw importError(`Adaptor ${adaptor.name} is not installed at ${adaptor.path} (${e.message})`);
    }
    if (!entry) throw importError(`Adaptor ${adaptor.name} is not installed at ${adaptor.path}`);
    entriesByDir.set(adaptor.path, entry);
  }
  return entry;
}

/**
 * The runtime linker cache key for a step: a never-used adaptor instance
 * prepared while the worker was idle when there is one, else a new key.
 */
export async function freshInstanceKey(adaptor) {
  const { path } = await adaptorEntry(adaptor);
  const key = spareInstanceKeys.get(path);
  spareInstanceKeys.delete(path);
  return key ?? randomUUID();
}

/**
 * The cache key for a step of the run `runKey`: the steps of one run share an
 * adaptor instance (the runtime's cacheKey semantics: cached between the jobs of
 * a workflow run, never between runs); without a run key, a fresh one.
 */
export async function instanceKeyFor(adaptor, runKey) {
  if (!runKey) return freshInstanceKey(adaptor);
  const { path } = await adaptorEntry(adaptor);
  const id = `${path} ${runKey}`;
  let key = runInstanceKeys.get(id);
  if (!key) {
    key = await freshInstanceKey(adaptor);
    runInstanceKeys.set(id, key);
    if (runInstanceKeys.size > MAX_RUN_INSTANCES) {
      runInstanceKeys.delete(runInstanceKeys.keys().next().value);
    }
  }
  return key;
}

/**
 * Imports a fresh adaptor instance under a new cache key (the URL the runtime
 * linker will import), so the next step skips the module evaluation.
 */
export async function prepareSpareInstance(adaptor) {
  const { path } = await adaptorEntry(adaptor);
  if (spareInstanceKeys.has(path)) return;
  const key = randomUUID();
  await import(`${path}?cache=${key}`);
  spareInstanceKeys.set(path, key);
  if (spareInstanceKeys.size > MAX_SPARES) spareInstanceKeys.delete(spareInstanceKeys.keys().next().value);
}

// Mirrors the runtime linker: a CommonJS-style module that only has a default
// export object exposes that object's keys.
function namesOf(namespace) {
  let target = namespace;
  if (namespace.__esModule && namespace.default?.default) {
    target = namespace.default.default;
  } else if (
    Object.keys(namespace).length === 1 &&
    namespace.default &&
    Object.keys(namespace.default).length > 0
  ) {
    target = namespace.default;
  }
  return Object.keys(target).filter((name) => name !== 'default' && name !== '__esModule');
}

/**
 * Imports an adaptor entry in the host. Some packages import files without
 * their extension, which Node's ESM loader refuses; only then is the runtime's
 * resolve hook registered, because it makes every later import several ms slower.
 */
async function importAdaptor(path) {
  const url = pathToFileURL(path).href;
  try {
    return await import(url);
  } catch (e) {
    if (esmHookRegistered || e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    registerEsmHook();
    esmHookRegistered = true;
    // A new URL: the loader remembers the failed attempt under the old one.
    return import(`${url}?resolve-hook`);
  }
}

/** Names exported by the adaptor in its declaration order, cached per entry file. */
export async function adaptorExports(adaptor) {
  const { path } = await adaptorEntry(adaptor);
  let names = exportNamesByEntry.get(path);
  if (!names) {
    try {
      names = namesOf(await importAdaptor(path));
    } catch (e) {
      throw importError(`Failed to import adaptor ${adaptor.name} from ${path}: ${e.message}`);
    }
    names = inExportOrder(names, await declaredExportOrder(adaptor.path));
    exportNamesByEntry.set(path, names);
  }
  return names;
}
