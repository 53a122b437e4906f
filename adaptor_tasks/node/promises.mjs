// Promise chains on operations, as OpenFn's compiler has them: any
// `op(...).then(f).catch(g)` that is not inside a function body becomes
// `_defer(op(...), p => p.then(f).catch(g))`, wherever it stands: a top-level
// statement, an argument of another operation (`each($.items, fn(...).then(...))`),
// an array element. A leading `.catch(h)` becomes defer's error handler:
// `op().catch(h).then(f)` -> `_defer(op(), p => p.then(f), h)`.
//
// Departures from OpenFn, both to keep jobs working: `.finally` chains are
// deferred too (OpenFn leaves them, and they fail with "finally is not a
// function"); a chain inside the operation of another chain is deferred too
// (OpenFn stops at the outer one).
import recast from 'recast';

const b = recast.types.builders;
const n = recast.types.namedTypes;

const PROMISE_METHODS = new Set(['then', 'catch', 'finally']);
const RUNTIME_SPECIFIER = '@openfn/runtime';

function isPromiseMethodCall(node) {
  return (
    n.CallExpression.check(node) &&
    n.MemberExpression.check(node.callee) &&
    !node.callee.computed &&
    n.Identifier.check(node.callee.property) &&
    PROMISE_METHODS.has(node.callee.property.name)
  );
}

/** The operation call at the base of `op(...).then(...).catch(...)`, or null. */
function chainBase(call) {
  let node = call;
  while (isPromiseMethodCall(node)) node = node.callee.object;
  return n.CallExpression.check(node) && node !== call ? node : null;
}

/** OpenFn's "top scope": no function or block between the node and the program. */
function isTopScope(path) {
  for (let p = path.parent; p; p = p.parent) {
    if (n.Function.check(p.node) || n.BlockStatement.check(p.node)) return false;
  }
  return true;
}

function deferCall(chain, base, deferName) {
  const methods = [];
  for (let node = chain; node !== base; node = node.callee.object) {
    methods.unshift({ name: node.callee.property.name, args: node.arguments });
  }
  let onError = null;
  if (methods[0].name === 'catch') onError = methods.shift().args[0] ?? b.identifier('undefined');
  const args = [base];
  if (methods.length) {
    let p = b.identifier('p');
    for (const m of methods) p = b.callExpression(b.memberExpression(p, b.identifier(m.name)), m.args);
    args.push(b.arrowFunctionExpression([b.identifier('p')], p));
  }
  if (onError) {
    if (!methods.length) args.push(b.identifier('undefined'));
    args.push(onError);
  }
  return b.callExpression(b.identifier(deferName), args);
}

/** Rewrites one outermost chain per pass; returns whether it found one. */
function rewriteOne(ast, nameOf) {
  let done = false;
  recast.types.visit(ast, {
    visitCallExpression(path) {
      if (done) return false;
      const base = isPromiseMethodCall(path.node) && isTopScope(path) && chainBase(path.node);
      if (!base) return this.traverse(path);
      path.replace(deferCall(path.node, base, nameOf()));
      done = true;
      return false;
    },
  });
  return done;
}

/** Adds `import { defer as <name> } from "@openfn/runtime"` after the existing imports. */
function addDeferImport(ast, name) {
  const body = ast.program.body;
  let index = 0;
  while (index < body.length && n.ImportDeclaration.check(body[index])) index += 1;
  body.splice(
    index,
    0,
    b.importDeclaration(
      [b.importSpecifier(b.identifier('defer'), b.identifier(name))],
      b.literal(RUNTIME_SPECIFIER),
    ),
  );
}

/** Defers every promise chain outside a function; returns the defer alias used, or null. */
export function transformPromiseChains(ast, uniqueName) {
  let deferName = null;
  const nameOf = () => (deferName ??= uniqueName(ast, '_defer'));
  while (rewriteOne(ast, nameOf));
  if (deferName) addDeferImport(ast, deferName);
  return deferName;
}
