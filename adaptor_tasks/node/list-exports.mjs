// Prints the export names of one adaptor as JSON: node list-exports.mjs '<{"name","version","path"}>'
// (for tools that need them without a running worker pool).
import { adaptorExports } from './adaptors.mjs';

try {
  const adaptor = JSON.parse(process.argv[2]);
  process.stdout.write(`${JSON.stringify(await adaptorExports(adaptor))}\n`);
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}
