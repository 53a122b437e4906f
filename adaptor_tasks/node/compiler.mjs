// Compiles OpenFn job DSL into an ES module that @openfn/runtime can execute.
//
// Transforms, in OpenFn's order:
//   1. lazy state      `$.a.b` in a call argument -> `(state) => state.a.b` (lazy-state.mjs)
//   2. promise chains  `op(...).then(f).catch(g)` outside functions -> deferred (promises.mjs)
//   3. default export  ensure `export default [...]` exists
//   4. operations      move top-level call statements into the default export
//   5. imports         import every undeclared name the adaptor exports, in its export order
import recast from 'recast';
import { isTopLevelObjectDeclaration, transformLazyState } from './lazy-state.mjs';
import { transformPromiseChains } from './promises.mjs';
import { CompileError, errorAt, isReference, parse } from './syntax.mjs';

export { CompileError };

const b = recast.types.builders;
const n = recast.types.namedTypes;

function uniqueName(ast, base) {
  const taken = new Set();
  recast.types.visit(ast, {
    visitIdentifier(path) {
      taken.add(path.node.name);
      this.traverse(path);
    },
  });
  let name = base;
  for (let i = 1; taken.has(name); i += 1) name = `${base}${i}`;
  return name;
}

function ensureDefaultExport(ast) {
  const body = ast.program.body;
  let decl = body.find((s) => n.ExportDefaultDeclaration.check(s));
  if (!decl) {
    decl = b.exportDefaultDeclaration(b.arrayExpression([]));
    body.push(decl);
  }
  return decl;
}

function operationName(call, deferName) {
  let node = call;
  if (!n.CallExpression.check(node)) return 'anonymous';
  if (deferName && n.Identifier.check(node.callee) && node.callee.name === deferName) {
    node = node.arguments[0];
  }
  const callee = node?.callee;
  if (n.Identifier.check(callee)) return callee.name;
  if (n.MemberExpression.check(callee) && !callee.computed) return callee.property.name;
  return 'anonymous';
}

/**
 * Moves top-level call statements into the default export. Returns one entry per
 * exported operation ({name, line, order}): the runtime names the operation and
 * source line of an adaptor error from it.
 */
function moveOperations(ast, exportDecl, deferName) {
  const body = ast.program.body;
  const calls = body.filter(
    (s) => n.ExpressionStatement.check(s) && n.CallExpression.check(s.expression),
  );
  const declaration = exportDecl.declaration;
  if (!n.ArrayExpression.check(declaration)) {
    if (calls.length) throw errorAt(exportDecl, 'The default export must be an array of operations');
    return [];
  }
  const describe = (expression, loc) => ({
    name: operationName(expression, deferName),
    line: loc?.start.line ?? null,
  });
  const operations = [
    ...declaration.elements.map((el) => describe(el, el?.loc)),
    ...calls.map((stmt) => describe(stmt.expression, stmt.loc)),
  ].map((op, index) => ({ ...op, order: index + 1 }));
  declaration.elements.push(...calls.map((s) => s.expression));
  ast.program.body = body.filter((s) => !calls.includes(s));
  return operations;
}

/** The names of `candidates` the job references without declaring them. */
function undeclaredUses(ast, candidates) {
  const names = new Set();
  recast.types.visit(ast, {
    visitObjectExpression(path) {
      // OpenFn never imports for a top-level `const x = { a }`: such names stay local.
      if (isTopLevelObjectDeclaration(path)) return false;
      this.traverse(path);
    },
    visitIdentifier(path) {
      const { name } = path.node;
      if (candidates.has(name) && isReference(path) && !path.scope?.lookup(name)) names.add(name);
      this.traverse(path);
    },
  });
  return names;
}

/** Imports the adaptor's names the job uses and does not declare, in the adaptor's export order. */
function addAdaptorImports(ast, specifier, exportNames) {
  const exportSet = new Set(exportNames);
  const names = undeclaredUses(ast, exportSet);
  if (!names.size) return [];
  const ordered = [...exportSet].filter((name) => names.has(name));
  ast.program.body.unshift(
    b.importDeclaration(
      ordered.map((name) => b.importSpecifier(b.identifier(name))),
      b.literal(specifier),
    ),
  );
  return ordered;
}

export const COLLECTIONS_ADAPTOR = '@openfn/language-collections';

/**
 * As Lightning's worker does, a job of any adaptor may use `collections.get(...)`
 * etc. without declaring a second adaptor: an undeclared `collections` the step's
 * adaptor does not export is imported from @openfn/language-collections.
 */
function needsCollections(ast, exportNames) {
  return !exportNames.includes('collections') && undeclaredUses(ast, new Set(['collections'])).size > 0;
}

function addCollectionsImport(ast) {
  ast.program.body.unshift(
    b.importDeclaration(
      [b.importSpecifier(b.identifier('collections'))],
      b.literal(COLLECTIONS_ADAPTOR),
    ),
  );
  return [COLLECTIONS_ADAPTOR];
}

/**
 * Compiles a job body.
 * @param {string} source raw job DSL
 * @param {{specifier: string, exportNames: Iterable<string>}} adaptor
 * @returns {{code: string, map: object, imports: string[], modules: string[]}} map carries
 *   `operations` like OpenFn's; `modules` are the other packages the job imports
 * @throws {CompileError} with 1-based line and column
 */
export function compile(source, adaptor) {
  const ast = parse(source, 'src.js');
  transformLazyState(ast);
  const deferName = transformPromiseChains(ast, uniqueName);
  const exportDecl = ensureDefaultExport(ast);
  const operations = moveOperations(ast, exportDecl, deferName);
  const exportNames = [...adaptor.exportNames];
  const collections = needsCollections(ast, exportNames); // before imports add unscoped nodes
  const imports = addAdaptorImports(ast, adaptor.specifier, exportNames);
  const modules = collections ? addCollectionsImport(ast) : [];
  const { code, map } = recast.print(ast, { sourceMapName: 'src.map.json' });
  return { code, map: { ...map, operations }, imports, modules };
}
