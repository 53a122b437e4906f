// The order in which an adaptor declares its exports, as OpenFn's compiler sees
// it: the package's type declarations (`types` in package.json, then its
// `Adaptor.d.ts`), in declaration order. The names themselves always come from
// the imported module; this only orders them, so the compiler's import line
// lists them like OpenFn's does. Declaration files are TypeScript, which acorn
// cannot parse: their `export` lines are read with a small pattern instead.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const DECLARATION =
  /^\s*export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|namespace)\s+([A-Za-z_$][\w$]*)/;
const EXPORT_AS = /^\s*export\s+\*\s+as\s+([A-Za-z_$][\w$]*)/;
const EXPORT_LIST = /^\s*export\s*\{([^}]*)\}/;

function namesIn(text) {
  const names = [];
  for (const line of text.split('\n')) {
    const match = line.match(DECLARATION) ?? line.match(EXPORT_AS);
    if (match) {
      names.push(match[1]);
      continue;
    }
    const list = line.match(EXPORT_LIST);
    if (list) {
      for (const part of list[1].split(',')) {
        const name = part.trim().split(/\s+as\s+/).pop()?.trim();
        if (name && name !== 'default') names.push(name);
      }
    }
  }
  return names;
}

async function readOrEmpty(path) {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** Export names in declaration order (may miss some; never invents any). */
export async function declaredExportOrder(packageDir) {
  let types;
  try {
    const pkg = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
    types = pkg.types ?? pkg.typings;
  } catch {
    return [];
  }
  if (!types) return [];
  const root = dirname(join(packageDir, types));
  const texts = [await readOrEmpty(join(packageDir, types))];
  for (const name of ['adaptor.d.ts', 'Adaptor.d.ts']) {
    const text = await readOrEmpty(join(root, name));
    if (text) {
      texts.push(text);
      break;
    }
  }
  return [...new Set(texts.flatMap(namesIn))];
}

/** `names` ordered as the adaptor declares them; undeclared ones follow alphabetically. */
export function inExportOrder(names, declared) {
  const rank = new Map(declared.map((name, i) => [name, i]));
  return [...names].sort((a, b) => {
    const ra = rank.get(a) ?? Infinity;
    const rb = rank.get(b) ?? Infinity;
    if (ra !== rb) return ra - rb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
