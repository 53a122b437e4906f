// Parsing job source with acorn into recast's AST, plus the scope helpers the
// compiler's transforms share.
import * as acorn from 'acorn';
import recast from 'recast';

export class CompileError extends Error {
  constructor(message, line, column) {
    super(message);
    this.name = 'CompileError';
    this.line = line;
    this.column = column;
  }
}

const acornParser = {
  parse(source) {
    const comments = [];
    const tokens = [];
    const ast = acorn.parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowHashBang: true,
      allowAwaitOutsideFunction: true,
      locations: true,
      onComment: comments,
      onToken: tokens,
    });
    toAstTypesShapes(ast);
    ast.comments = comments;
    ast.tokens = tokens;
    return ast;
  },
};

// ast-types (recast's AST library) knows class fields and private names only by
// their Babel names, so acorn's ESTree nodes are renamed in place.
function toAstTypesShapes(root) {
  const stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'PropertyDefinition') {
      node.type = node.key.type === 'PrivateIdentifier' ? 'ClassPrivateProperty' : 'ClassProperty';
    } else if (node.type === 'PrivateIdentifier') {
      node.type = 'PrivateName';
      node.id = { type: 'Identifier', name: node.name, loc: node.loc, start: node.start, end: node.end };
      delete node.name;
    }
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (item && typeof item.type === 'string') stack.push(item);
      } else if (value && typeof value.type === 'string') {
        stack.push(value);
      }
    }
  }
}

export function parse(source, sourceFileName) {
  try {
    return recast.parse(source, { parser: acornParser, sourceFileName });
  } catch (e) {
    if (e instanceof SyntaxError && e.loc) {
      const message = e.message.replace(/\s*\(\d+:\d+\)$/, '');
      throw new CompileError(`SyntaxError: ${message}`, e.loc.line, e.loc.column + 1);
    }
    throw e;
  }
}

export function errorAt(node, message) {
  const start = node.loc?.start;
  return new CompileError(message, start?.line ?? null, start ? start.column + 1 : null);
}

/** True when the identifier at `path` reads a binding (is not a key, label or declaration name). */
export function isReference(path) {
  const parent = path.parent?.node;
  const field = path.name;
  if (!parent) return true;
  switch (parent.type) {
    case 'MemberExpression':
      return field !== 'property' || parent.computed;
    case 'Property':
    case 'ClassProperty':
    case 'MethodDefinition':
      return field !== 'key' || parent.computed;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
    case 'MetaProperty':
    case 'PrivateName':
    case 'ImportSpecifier':
    case 'ImportDefaultSpecifier':
    case 'ImportNamespaceSpecifier':
    case 'ExportSpecifier':
      return false;
    default:
      return true;
  }
}

/** Paths of identifiers named `name` that read a global (undeclared) binding. */
export function globalReferences(ast, name) {
  const found = [];
  recast.types.visit(ast, {
    visitIdentifier(path) {
      if (path.node.name === name && isReference(path) && !path.scope?.lookup(name)) {
        found.push(path);
      }
      this.traverse(path);
    },
  });
  return found;
}
