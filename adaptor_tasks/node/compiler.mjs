// Compiles OpenFn job DSL into an ES module that @openfn/runtime can execute.
//
// Transforms, in OpenFn's order:
//   1. lazy state      `$.a.b` in an operation argument -> `(state) => state.a.b`
//   2. promise chains  `op(...).then(f).catch(g)` -> a deferred operation
//   3. default export  ensure `export default [...]` exists
//   4. operations      move top-level call statements into the default export
//   5. imports         import every undeclared name the adaptor exports
import recast from 'recast';
import { CompileError, errorAt, globalReferences, isReference, parse } from './syntax.mjs';

export { CompileError };

const b = recast.types.builders;
const n = recast.types.namedTypes;

const LAZY = '$';
const PROMISE_METHODS = new Set(['then', 'catch', 'finally']);
const RUNTIME_SPECIFIER = '@openfn/runtime';

/** The call at the base of `op(...).then(...).catch(...)`. */
function chainBase(call) {
  let node = call;
  while (
    n.CallExpression.check(node) &&
    n.MemberExpression.check(node.callee) &&
    !node.callee.computed &&
    PROMISE_METHODS.has(node.callee.property.name) &&
    n.CallExpression.check(node.callee.object)
  ) {
    node = node.callee.object;
  }
  return node;
}

function isOperationCall(node, exportSet, topCalls) {
  if (!n.CallExpression.check(node)) return false;
  if (topCalls.has(node)) return true;
  return n.Identifier.check(node.callee) && exportSet.has(node.callee.name);
}

/**
 * Climbs from a `$` reference to the expression that must become `(state) => ...`:
 * the nearest ancestor that is an operation argument, an object property value
 * or an array element (adaptors expand functions nested in objects and arrays).
 */
function lazyTarget(refPath, exportSet, topCalls) {
  let path = refPath;
  let insideOperation = false;
  let target = null;
  while (path.parent) {
    const parent = path.parent.node;
    if (n.Function.check(parent)) {
      throw errorAt(
        refPath.node,
        "Lazy state ($) cannot be used inside a function: use the function's state argument instead",
      );
    }
    if (n.Program.check(parent) || n.Statement.check(parent)) break;
    const isArgument = n.CallExpression.check(parent) && path.name !== 'callee';
    if (isArgument && isOperationCall(parent, exportSet, topCalls)) {
      insideOperation = true;
      target ??= path;
      break;
    }
    const isValueSlot =
      (n.Property.check(parent) && path.name === 'value') || n.ArrayExpression.check(parent);
    if (isValueSlot) target ??= path;
    path = path.parent;
  }
  if (!insideOperation || !target) {
    throw errorAt(refPath.node, 'Lazy state ($) can only be used inside the arguments of an operation');
  }
  return target;
}

function transformLazyState(ast, exportSet) {
  const refs = globalReferences(ast, LAZY);
  if (!refs.length) return;
  const topCalls = new Set();
  for (const stmt of ast.program.body) {
    if (n.ExpressionStatement.check(stmt) && n.CallExpression.check(stmt.expression)) {
      topCalls.add(stmt.expression);
      topCalls.add(chainBase(stmt.expression));
    }
  }
  const targets = [];
  for (const ref of refs) {
    const target = lazyTarget(ref, exportSet, topCalls);
    if (!targets.some((t) => t.node === target.node)) targets.push(target);
  }
  const isInside = (inner, outer) => {
    for (let p = inner.parent; p; p = p.parent) if (p.node === outer.node) return true;
    return false;
  };
  // Wrap the outermost expressions only: every `$` inside them becomes `state`.
  const outermost = targets.filter((t) => !targets.some((o) => o !== t && isInside(t, o)));
  for (const ref of refs) ref.replace(b.identifier('state'));
  for (const target of outermost) {
    const parent = target.parent.node;
    if (n.Property.check(parent) && parent.shorthand) parent.shorthand = false;
    target.replace(b.arrowFunctionExpression([b.identifier('state')], target.node));
  }
}

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

/** Rewrites top-level `op(...).then(f)` chains as `defer(op(...), p => p.then(f), onError)`. */
function transformPromiseChains(ast) {
  let deferName = null;
  for (const stmt of ast.program.body) {
    if (!n.ExpressionStatement.check(stmt)) continue;
    const base = chainBase(stmt.expression);
    if (base === stmt.expression) continue;
    const methods = [];
    for (let node = stmt.expression; node !== base; node = node.callee.object) {
      methods.unshift({ name: node.callee.property.name, args: node.arguments, loc: node.loc });
    }
    let onError = null;
    if (methods[0].name === 'catch') onError = methods.shift().args[0] ?? null;
    deferName ??= uniqueName(ast, '_defer');
    const args = [base];
    if (methods.length) {
      let chain = b.identifier('p');
      for (const m of methods) {
        chain = b.callExpression(b.memberExpression(chain, b.identifier(m.name)), m.args);
      }
      args.push(b.arrowFunctionExpression([b.identifier('p')], chain));
    }
    if (onError) {
      if (!methods.length) args.push(b.identifier('undefined'));
      args.push(onError);
    }
    stmt.expression = b.callExpression(b.identifier(deferName), args);
  }
  if (deferName) {
    ast.program.body.unshift(
      b.importDeclaration(
        [b.importSpecifier(b.identifier('defer'), b.identifier(deferName))],
        b.literal(RUNTIME_SPECIFIER),
      ),
    );
  }
  return deferName;
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
  ].map((op, order) => ({ ...op, order }));
  declaration.elements.push(...calls.map((s) => s.expression));
  ast.program.body = body.filter((s) => !calls.includes(s));
  return operations;
}

function addAdaptorImports(ast, specifier, exportSet) {
  const names = new Set();
  recast.types.visit(ast, {
    visitIdentifier(path) {
      const { name } = path.node;
      if (exportSet.has(name) && isReference(path) && !path.scope?.lookup(name)) names.add(name);
      this.traverse(path);
    },
  });
  if (!names.size) return [];
  const sorted = [...names].sort();
  ast.program.body.unshift(
    b.importDeclaration(
      sorted.map((name) => b.importSpecifier(b.identifier(name))),
      b.literal(specifier),
    ),
  );
  return sorted;
}

/**
 * Compiles a job body.
 * @param {string} source raw job DSL
 * @param {{specifier: string, exportNames: Iterable<string>}} adaptor
 * @returns {{code: string, map: object, imports: string[]}} map carries `operations` like OpenFn's
 * @throws {CompileError} with 1-based line and column
 */
export function compile(source, adaptor) {
  const exportSet = new Set(adaptor.exportNames);
  const ast = parse(source, 'src.js');
  transformLazyState(ast, exportSet);
  const deferName = transformPromiseChains(ast);
  const exportDecl = ensureDefaultExport(ast);
  const operations = moveOperations(ast, exportDecl, deferName);
  const imports = addAdaptorImports(ast, adaptor.specifier, exportSet);
  const { code, map } = recast.print(ast, { sourceMapName: 'src.map.json' });
  return { code, map: { ...map, operations }, imports };
}
