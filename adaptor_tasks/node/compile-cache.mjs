// Compiled jobs, cached by (body, adaptor name@version): a workflow's steps run
// the same bodies over and over, and parsing + printing costs a few ms.
import { compile } from './compiler.mjs';
import { adaptorExports } from './adaptors.mjs';

const MAX_ENTRIES = 500;
const cache = new Map();

/** Compiles `body` for `adaptor` ({name, version, path}); throws CompileError. */
export async function compileJob(body, adaptor) {
  const key = `${adaptor.name}@${adaptor.version}\u0000${body}`;
  const hit = cache.get(key);
  if (hit) {
    // Re-insert to keep the Map ordered by recency (least recent first).
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const exportNames = await adaptorExports(adaptor);
  const compiled = compile(body, { specifier: adaptor.name, exportNames });
  cache.set(key, compiled);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value);
  return compiled;
}
