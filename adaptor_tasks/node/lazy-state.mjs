// Lazy state, as OpenFn's compiler has it: every `$.a.b` (and a bare `$`)
// becomes `state.a.b`, and the argument of the nearest enclosing call that holds
// it becomes `(state) => ...`, wherever that call stands (an operation, a
// helper inside a callback, a template literal argument).
//
// Rules (OpenFn/kit packages/compiler/test/transforms/lazy-state.test.ts):
//   - the wrapped argument is the child of the nearest call; a call *on* state
//     (`$.items.map(...)`) is wrapped whole;
//   - an argument that already is `state => ...` is left as it is; an arrow
//     with another parameter name or arity is an error;
//   - reaching a statement before any call is an error (`const x = $.a`,
//     `$.a = 1`, `fn(() => { $.a = 1 })`);
//   - a `$` declared in a function scope is a plain variable;
//   - `$` inside a top-level `const x = {...}` literal is left untouched.
// Errors read `Lazy State Error: <why> (line:column)`, OpenFn's form (0-based column).
import recast from 'recast';
import { CompileError, isReference } from './syntax.mjs';

const b = recast.types.builders;
const n = recast.types.namedTypes;
const LAZY = '$';

export function lazyStateError(message, node) {
  const start = node.loc?.start;
  const where = start ? ` (${start.line}:${start.column})` : '';
  const error = new CompileError(
    `Lazy State Error: ${message}${where}`,
    start?.line ?? null,
    start ? start.column + 1 : null,
  );
  return error;
}

/** True for the initializer of a top-level `const x = {...}` (OpenFn leaves these alone). */
export function isTopLevelObjectDeclaration(path) {
  return (
    n.ObjectExpression.check(path.node) &&
    n.VariableDeclarator.check(path.parent?.node) &&
    path.name === 'init' &&
    n.VariableDeclaration.check(path.parent.parent?.node) &&
    n.Program.check(path.parent.parent.parent?.node)
  );
}

function declaredInFunctionScope(path) {
  for (let scope = path.scope; scope; scope = scope.parent) {
    if (!scope.isGlobal && scope.declares(LAZY)) return true;
  }
  return false;
}

/** `$` references to convert: outside top-level object declarations, not shadowed. */
function lazyReferences(ast) {
  const found = [];
  recast.types.visit(ast, {
    visitObjectExpression(path) {
      if (isTopLevelObjectDeclaration(path)) return false;
      this.traverse(path);
    },
    visitIdentifier(path) {
      if (path.node.name === LAZY && isReference(path) && !declaredInFunctionScope(path)) {
        found.push(path);
      }
      this.traverse(path);
    },
  });
  return found;
}

/** Whether `path` (a call's argument) is already `state => ...`; throws for other arrows. */
function isOpenFunction(path) {
  const node = path.node;
  if (!n.ArrowFunctionExpression.check(node)) return false;
  if (node.params.length !== 1) throw lazyStateError('parent has wrong arity', node);
  const name = n.Identifier.check(node.params[0]) ? node.params[0].name : '(pattern)';
  if (name !== 'state') throw lazyStateError(`parameter "${name}" should be called "state"`, node);
  return true;
}

/** The expression to wrap for one `$` reference, or null when it needs none. */
function wrapTarget(refPath) {
  let path = refPath;
  while (path.parent) {
    const parent = path.parent;
    if (n.Statement.check(parent.node) || n.Declaration.check(parent.node)) {
      throw lazyStateError('Must be inside an operation', lazyNode(refPath));
    }
    if (n.CallExpression.check(parent.node) || n.NewExpression.check(parent.node)) {
      // A call on state itself (`$.items.map(...)`) is wrapped as a whole.
      const arg = path.name === 'callee' ? parent : path;
      return isOpenFunction(arg) ? null : arg;
    }
    path = parent;
  }
  throw lazyStateError('Must be inside an operation', lazyNode(refPath));
}

/** The `$.a.b` member chain a reference starts (for error positions, like OpenFn's). */
function lazyNode(refPath) {
  let path = refPath;
  while (n.MemberExpression.check(path.parent?.node) && path.name === 'object') path = path.parent;
  return path.node;
}

function isInside(inner, outer) {
  for (let p = inner.parent; p; p = p.parent) if (p.node === outer.node) return true;
  return false;
}

export function transformLazyState(ast) {
  const refs = lazyReferences(ast);
  if (!refs.length) return;
  const targets = [];
  for (const ref of refs) {
    const target = wrapTarget(ref);
    if (target && !targets.some((t) => t.node === target.node)) targets.push(target);
  }
  // Wrap the outermost expressions only: every `$` inside them becomes `state`.
  const outermost = targets.filter((t) => !targets.some((o) => o !== t && isInside(t, o)));
  for (const ref of refs) ref.replace(b.identifier('state'));
  for (const target of outermost) {
    target.replace(b.arrowFunctionExpression([b.identifier('state')], target.node));
  }
}
