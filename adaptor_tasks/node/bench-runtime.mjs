// Baseline for adaptor_tasks.benchmark: @openfn/runtime alone, in one warm
// process, running the same compiled job N times (no protocol, no Python).
// Usage: node --experimental-vm-modules bench-runtime.mjs <adaptor-dir> <name> <steps> [fresh|shared]
import { randomUUID } from 'node:crypto';
import run from '@openfn/runtime';
import { compileJob } from './compile-cache.mjs';
import { makeLogger } from './logs.mjs';

const [dir, name, steps = '300', linking = 'fresh'] = process.argv.slice(2);
const adaptor = { name, version: 'bench', path: dir };
const compiled = await compileJob('fn(state => state)', adaptor);
const times = [];
for (let i = 0; i < Number(steps); i += 1) {
  const started = performance.now();
  await run(compiled.code, { data: { i } }, {
    logger: makeLogger('R/T'),
    jobLogger: makeLogger('JOB'),
    disableEsmHook: true,
    linker: {
      modules: { [name]: { path: dir } },
      cacheKey: linking === 'fresh' ? randomUUID() : 'shared',
    },
  });
  times.push(performance.now() - started);
}
process.stdout.write(`${JSON.stringify(times.slice(Math.min(20, times.length - 1)))}\n`);
