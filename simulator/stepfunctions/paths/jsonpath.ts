/**
 * JSONPath as Step Functions evaluates it (the Jayway dialect): `$`, `.name`,
 * `['name']`, `[n]`, `[-n]`, `[*]`, `..name`, `[a:b:c]`, unions `[0,1]` and
 * filters `[?(@.price < 10)]`.
 * https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
 */

type FilterOperand = { kind: "path"; segments: Segment[] } | { kind: "literal"; value: unknown };

type FilterExpression =
  | { kind: "compare"; left: FilterOperand; operator: string; right: FilterOperand }
  | { kind: "exists"; operand: FilterOperand }
  | { kind: "and" | "or"; left: FilterExpression; right: FilterExpression };

type Segment =
  | { kind: "child"; name: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "descendant"; name: string | undefined }
  | { kind: "slice"; start: number | undefined; end: number | undefined; step: number }
  | { kind: "union"; keys: (string | number)[] }
  | { kind: "filter"; expression: FilterExpression };

/** A parsed JSONPath. `definite` paths select at most one value. */
export interface CompiledPath {
  readonly source: string;
  readonly segments: Segment[];
  readonly definite: boolean;
  /** Set when every segment is a plain child name: the fast path. */
  readonly names: string[] | undefined;
}

/** Raised for text that is not a JSONPath. */
export class JsonPathSyntaxError extends Error {
  constructor(path: string, reason: string) {
    super(`Invalid JSONPath '${path}': ${reason}`);
    this.name = "JsonPathSyntaxError";
  }
}

const cache = new Map<string, CompiledPath>();

/** Parses `path` (starting with `$`), caching the result. */
export function compilePath(path: string): CompiledPath {
  const cached = cache.get(path);
  if (cached) return cached;

  if (!path.startsWith("$")) throw new JsonPathSyntaxError(path, "a path starts with '$'");
  const parser = new PathParser(path, 1);
  const segments = parser.parseSegments();
  const definite = segments.every((s) => s.kind === "child" || s.kind === "index");
  const names = segments.every((s) => s.kind === "child")
    ? segments.map((s) => (s as { name: string }).name)
    : undefined;
  const compiled: CompiledPath = { source: path, segments, definite, names };
  if (cache.size > 10_000) cache.clear();
  cache.set(path, compiled);
  return compiled;
}

/** Result of evaluating a path: `found` is false when a definite path matched nothing. */
export type PathResult = { found: true; value: unknown } | { found: false };

const NOT_FOUND: PathResult = { found: false };

/**
 * Evaluates `path` against `root`. A definite path yields its single value;
 * any other path yields the array of its matches (possibly empty).
 */
export function evaluatePath(path: string | CompiledPath, root: unknown): PathResult {
  const compiled = typeof path === "string" ? compilePath(path) : path;

  if (compiled.names) {
    let current = root;
    for (const name of compiled.names) {
      if (current === null || typeof current !== "object" || Array.isArray(current))
        return NOT_FOUND;
      if (!Object.hasOwn(current, name)) return NOT_FOUND;
      current = (current as Record<string, unknown>)[name];
    }
    return { found: true, value: current };
  }

  const matches = selectAll(compiled.segments, [root]);
  if (compiled.definite)
    return matches.length === 0 ? NOT_FOUND : { found: true, value: matches[0] };
  return { found: true, value: matches };
}

function selectAll(segments: Segment[], roots: unknown[]): unknown[] {
  let nodes = roots;
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const node of nodes) applySegment(segment, node, next);
    nodes = next;
  }
  return nodes;
}

function applySegment(segment: Segment, node: unknown, out: unknown[]): void {
  switch (segment.kind) {
    case "child":
      if (isObject(node) && Object.hasOwn(node, segment.name)) out.push(node[segment.name]);
      return;
    case "index":
      if (Array.isArray(node)) {
        const index = segment.index < 0 ? node.length + segment.index : segment.index;
        if (index >= 0 && index < node.length) out.push(node[index]);
      }
      return;
    case "wildcard":
      if (Array.isArray(node)) out.push(...node);
      else if (isObject(node)) out.push(...Object.values(node));
      return;
    case "descendant":
      collectDescendants(node, segment.name, out);
      return;
    case "slice":
      if (Array.isArray(node)) sliceInto(node, segment, out);
      return;
    case "union":
      for (const key of segment.keys) {
        applySegment(
          typeof key === "number" ? { kind: "index", index: key } : { kind: "child", name: key },
          node,
          out,
        );
      }
      return;
    case "filter": {
      const candidates = Array.isArray(node) ? node : isObject(node) ? Object.values(node) : [];
      for (const candidate of candidates)
        if (testFilter(segment.expression, candidate)) out.push(candidate);
      return;
    }
  }
}

function collectDescendants(node: unknown, name: string | undefined, out: unknown[]): void {
  if (Array.isArray(node)) {
    if (name === undefined) out.push(...node);
    for (const child of node) collectDescendants(child, name, out);
  } else if (isObject(node)) {
    if (name === undefined) out.push(...Object.values(node));
    else if (Object.hasOwn(node, name)) out.push(node[name]);
    for (const child of Object.values(node)) collectDescendants(child, name, out);
  }
}

function sliceInto(
  array: unknown[],
  slice: Extract<Segment, { kind: "slice" }>,
  out: unknown[],
): void {
  const length = array.length;
  const normalize = (value: number) =>
    value < 0 ? Math.max(0, length + value) : Math.min(value, length);
  const start = slice.start === undefined ? 0 : normalize(slice.start);
  const end = slice.end === undefined ? length : normalize(slice.end);
  for (let i = start; i < end; i += slice.step) out.push(array[i]);
}

function testFilter(expression: FilterExpression, candidate: unknown): boolean {
  switch (expression.kind) {
    case "and":
      return testFilter(expression.left, candidate) && testFilter(expression.right, candidate);
    case "or":
      return testFilter(expression.left, candidate) || testFilter(expression.right, candidate);
    case "exists":
      return operandValues(expression.operand, candidate).length > 0;
    case "compare": {
      const left = operandValues(expression.left, candidate);
      const right = operandValues(expression.right, candidate);
      if (left.length === 0 || right.length === 0)
        return expression.operator === "!=" && left.length !== right.length;
      return compareValues(left[0], expression.operator, right[0]);
    }
  }
}

function operandValues(operand: FilterOperand, candidate: unknown): unknown[] {
  if (operand.kind === "literal") return [operand.value];
  return selectAll(operand.segments, [candidate]);
}

function compareValues(left: unknown, operator: string, right: unknown): boolean {
  switch (operator) {
    case "==":
      return JSON.stringify(left) === JSON.stringify(right);
    case "!=":
      return JSON.stringify(left) !== JSON.stringify(right);
  }
  if (typeof left !== typeof right || (typeof left !== "number" && typeof left !== "string"))
    return false;
  const a = left as number | string;
  const b = right as number | string;
  switch (operator) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A recursive-descent parser over the text after `$` (or `@` in filters). */
class PathParser {
  constructor(
    readonly text: string,
    public position: number,
  ) {}

  parseSegments(stopAt?: string): Segment[] {
    const segments: Segment[] = [];
    while (this.position < this.text.length) {
      const char = this.text[this.position];
      if (stopAt?.includes(char) || char === " ") break;
      if (char === ".") {
        if (this.text[this.position + 1] === ".") {
          this.position += 2;
          if (this.text[this.position] === "[") {
            segments.push({ kind: "descendant", name: undefined });
            continue;
          }
          const name = this.readName();
          segments.push({ kind: "descendant", name: name === "*" ? undefined : name });
        } else {
          this.position++;
          const name = this.readName();
          if (name === "length()") segments.push({ kind: "child", name: "length()" });
          else segments.push(name === "*" ? { kind: "wildcard" } : { kind: "child", name });
        }
      } else if (char === "[") {
        segments.push(this.readBracket());
      } else {
        throw new JsonPathSyntaxError(
          this.text,
          `unexpected '${char}' at position ${this.position}`,
        );
      }
    }
    return segments;
  }

  readName(): string {
    const start = this.position;
    while (this.position < this.text.length && !".[ )=!<>&|,".includes(this.text[this.position]))
      this.position++;
    if (this.text.startsWith("()", this.position)) this.position += 2;
    if (this.position === start)
      throw new JsonPathSyntaxError(this.text, `missing name at position ${start}`);
    return this.text.slice(start, this.position);
  }

  readBracket(): Segment {
    const close = this.findClose(this.position);
    const inner = this.text.slice(this.position + 1, close).trim();
    const innerStart = this.position + 1;
    this.position = close + 1;

    if (inner === "*") return { kind: "wildcard" };
    if (inner.startsWith("?(") && inner.endsWith(")")) {
      const offset = this.text.indexOf("?(", innerStart) + 2;
      return {
        kind: "filter",
        expression: parseFilter(this.text, offset, this.text.lastIndexOf(")", close)),
      };
    }
    if (/^-?\d*:-?\d*(:-?\d+)?$/.test(inner)) {
      const [start, end, step] = inner.split(":");
      return {
        kind: "slice",
        start: start === "" ? undefined : Number(start),
        end: end === "" || end === undefined ? undefined : Number(end),
        step: step ? Math.max(1, Number(step)) : 1,
      };
    }

    const keys = splitUnion(inner).map((part) => parseKey(this.text, part));
    if (keys.length === 1) {
      const key = keys[0];
      return typeof key === "number" ? { kind: "index", index: key } : { kind: "child", name: key };
    }
    return { kind: "union", keys };
  }

  findClose(open: number): number {
    let depth = 0;
    let quote: string | undefined;
    for (let i = open; i < this.text.length; i++) {
      const char = this.text[i];
      if (quote) {
        if (char === "\\") i++;
        else if (char === quote) quote = undefined;
      } else if (char === "'" || char === '"') quote = char;
      else if (char === "[") depth++;
      else if (char === "]" && --depth === 0) return i;
    }
    throw new JsonPathSyntaxError(this.text, `unclosed '[' at position ${open}`);
  }
}

function splitUnion(inner: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (const char of inner) {
    if (quote) {
      if (char === quote) quote = undefined;
      current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      current += char;
    } else if (char === ",") {
      parts.push(current.trim());
      current = "";
    } else current += char;
  }
  parts.push(current.trim());
  return parts;
}

function parseKey(path: string, part: string): string | number {
  if (/^-?\d+$/.test(part)) return Number(part);
  const quoted = /^'(.*)'$|^"(.*)"$/s.exec(part);
  if (quoted) return (quoted[1] ?? quoted[2]).replace(/\\(.)/g, "$1");
  throw new JsonPathSyntaxError(path, `invalid bracket key '${part}'`);
}

/** Parses a filter body such as `@.price < 10 && @.inStock`. */
function parseFilter(path: string, start: number, end: number): FilterExpression {
  const body = path.slice(start, end).trim();
  const orParts = splitTopLevel(body, "||");
  if (orParts.length > 1) {
    return orParts
      .map((part) => parseFilterTerm(path, part))
      .reduce((left, right) => ({ kind: "or", left, right }));
  }
  return parseFilterTerm(path, body);
}

function parseFilterTerm(path: string, text: string): FilterExpression {
  const andParts = splitTopLevel(text, "&&");
  if (andParts.length > 1) {
    return andParts
      .map((part) => parseFilterTerm(path, part))
      .reduce((left, right) => ({ kind: "and", left, right }));
  }
  let trimmed = text.trim();
  if (trimmed.startsWith("(") && trimmed.endsWith(")")) trimmed = trimmed.slice(1, -1).trim();
  const match = /^(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+)$/s.exec(trimmed);
  if (!match) return { kind: "exists", operand: parseOperand(path, trimmed) };
  return {
    kind: "compare",
    left: parseOperand(path, match[1]),
    operator: match[2],
    right: parseOperand(path, match[3]),
  };
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "(" || char === "[") depth++;
    else if (char === ")" || char === "]") depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(last, i));
      last = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(last));
  return parts;
}

function parseOperand(path: string, text: string): FilterOperand {
  const trimmed = text.trim();
  if (trimmed.startsWith("@")) {
    return { kind: "path", segments: new PathParser(trimmed, 1).parseSegments() };
  }
  if (/^'.*'$/s.test(trimmed)) return { kind: "literal", value: trimmed.slice(1, -1) };
  try {
    return { kind: "literal", value: JSON.parse(trimmed) };
  } catch {
    throw new JsonPathSyntaxError(path, `invalid filter operand '${trimmed}'`);
  }
}

/**
 * Checks a Reference Path: a path that selects exactly one node, without
 * wildcards, filters, slices or descent.
 * https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
 */
export function isReferencePath(path: string): boolean {
  try {
    return compilePath(path).definite;
  } catch {
    return false;
  }
}

function bracketSegment(segment: Segment): string {
  if (segment.kind === "child") return `['${segment.name}']`;
  if (segment.kind === "index") return `[${segment.index}]`;
  return "[*]";
}

/** Renders a path the way AWS prints it in errors: `$['a']['b']`. */
export function bracketNotation(path: string): string {
  try {
    const compiled = compilePath(path);
    return `$${compiled.segments.map(bracketSegment).join("")}`;
  } catch {
    return path;
  }
}
