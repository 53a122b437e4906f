// Baseline of benchmarks/engine.py: the same job run by @openfn/runtime alone,
// in one warm Node process (no Python, no protocol, no Prefect, no database).
//
// Usage:
//   node --experimental-vm-modules --no-warnings benchmarks/bare-runtime.mjs \
//        <adaptor_tasks/node dir> <runs> [shared|fresh] [warmup]
// Prints {"times_ms": [...]} (one wall time per run, warm-up excluded).
//
// `shared`: the runtime's default linking (the adaptor module is imported once
// and reused, as `openfn job.js` does within one process). `fresh`: a new
// adaptor module instance per run (a new linker cache key), as the platform's
// Node pool does so that no adaptor state leaks between runs.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [nodeDir, runsArg = '300', linking = 'shared', warmupArg = '50'] = process.argv.slice(2);
if (!nodeDir) {
  process.stderr.write('usage: bare-runtime.mjs <adaptor_tasks/node dir> <runs> [shared|fresh]\n');
  process.exit(2);
}
const fromNodeDir = (...parts) => pathToFileURL(join(nodeDir, ...parts)).href;
const { default: run } = await import(fromNodeDir('node_modules/@openfn/runtime/dist/index.js'));
const { createMockLogger } = await import(fromNodeDir('node_modules/@openfn/logger/dist/index.js'));
// The platform's compiler (acorn + recast): compiling is not timed, the runtime is.
const { compileJob } = await import(fromNodeDir('compile-cache.mjs'));

const JOB = 'fn(state => ({ ...state, data: { n: state.data.n + 1 } }));';
const name = '@openfn/language-common';
const path = join(nodeDir, 'node_modules', name);
const compiled = await compileJob(JOB, { name, version: 'bench', path });

async function once(i) {
  const plan = {
    id: 'bench',
    workflow: { name: 'bench', steps: [{ id: 'bench', name: 'bench', expression: compiled.code }] },
    options: {},
  };
  const state = await run(plan, { data: { n: i } }, {
    logger: createMockLogger('R/T', { level: 'info' }),
    jobLogger: createMockLogger('JOB', { level: 'debug' }),
    disableEsmHook: true,
    statePropsToRemove: ['configuration', 'response'],
    linker: {
      modules: { [name]: { path } },
      cacheKey: linking === 'fresh' ? randomUUID() : undefined,
    },
  });
  if (state?.data?.n !== i + 1) throw new Error(`unexpected result ${JSON.stringify(state)}`);
}

for (let i = 0; i < Number(warmupArg); i += 1) await once(i);
const times = [];
for (let i = 0; i < Number(runsArg); i += 1) {
  const started = performance.now();
  await once(i);
  times.push(performance.now() - started);
}
process.stdout.write(`${JSON.stringify({ times_ms: times })}\n`);
