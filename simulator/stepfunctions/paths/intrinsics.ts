/**
 * Intrinsic functions of JSONPath states (`States.Format(...)` and friends).
 * https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
 * Every failure raises `States.Runtime`, as AWS reports intrinsic errors.
 */
import { createHash, randomUUID } from "node:crypto";
import { StatesError } from "../errors.ts";

/** Argument of an intrinsic: a literal, a path into input/context/variables, or another call. */
type IntrinsicArgument =
  | { kind: "literal"; value: unknown }
  | { kind: "path"; path: string }
  | { kind: "call"; call: IntrinsicCall };

interface IntrinsicCall {
  name: string;
  args: IntrinsicArgument[];
}

/** Resolves a path argument (`$.x`, `$$.x`, `$variable.x`) to its value. */
export type PathResolver = (path: string) => unknown;

const cache = new Map<string, IntrinsicCall>();

// Private-use characters standing for `\{` and `\}` inside parsed string literals.
const ESCAPED_OPEN = "\uE000";
const ESCAPED_CLOSE = "\uE001";

function unmarkBraces(text: string): string {
  return text.replaceAll(ESCAPED_OPEN, "{").replaceAll(ESCAPED_CLOSE, "}");
}

/** True when `text` is an intrinsic function call. */
export function isIntrinsic(text: string): boolean {
  return /^States\.[A-Za-z0-9]+\s*\(/.test(text);
}

/** Parses and runs the intrinsic call `text`. */
export function evaluateIntrinsic(text: string, resolve: PathResolver): unknown {
  let call = cache.get(text);
  if (!call) {
    const parser = new IntrinsicParser(text);
    call = parser.parseCall(0);
    parser.skipSpaces();
    if (parser.position !== text.length)
      throw runtimeError(`unexpected text after the call in '${text}'`);
    cache.set(text, call);
  }
  return invoke(call, resolve);
}

function runtimeError(message: string): StatesError {
  return new StatesError("States.Runtime", message);
}

class IntrinsicParser {
  position = 0;
  depth = 0;
  constructor(readonly text: string) {}

  skipSpaces(): void {
    while (this.text[this.position] === " ") this.position++;
  }

  parseCall(depth: number): IntrinsicCall {
    // AWS allows up to 10 nested intrinsic functions within a field.
    if (depth >= 10)
      throw runtimeError(`more than 10 nested intrinsic functions in '${this.text}'`);
    const match = /^States\.[A-Za-z0-9]+/.exec(this.text.slice(this.position));
    if (!match)
      throw runtimeError(
        `expected an intrinsic function at position ${this.position} of '${this.text}'`,
      );
    this.position += match[0].length;
    this.skipSpaces();
    if (this.text[this.position] !== "(")
      throw runtimeError(`expected '(' after ${match[0]} in '${this.text}'`);
    this.position++;

    const args: IntrinsicArgument[] = [];
    this.skipSpaces();
    if (this.text[this.position] === ")") {
      this.position++;
      return { name: match[0], args };
    }
    for (;;) {
      this.skipSpaces();
      args.push(this.parseArgument(depth));
      this.skipSpaces();
      const char = this.text[this.position++];
      if (char === ")") break;
      if (char !== ",")
        throw runtimeError(
          `expected ',' or ')' at position ${this.position - 1} of '${this.text}'`,
        );
    }
    return { name: match[0], args };
  }

  parseArgument(depth: number): IntrinsicArgument {
    const rest = this.text.slice(this.position);
    if (rest.startsWith("'")) return { kind: "literal", value: this.parseString() };
    if (rest.startsWith("States.")) return { kind: "call", call: this.parseCall(depth + 1) };
    if (rest.startsWith("$")) {
      const start = this.position;
      let bracket = 0;
      let quote = false;
      while (this.position < this.text.length) {
        const char = this.text[this.position];
        if (quote) {
          if (char === "'") quote = false;
        } else if (char === "'") quote = true;
        else if (char === "[") bracket++;
        else if (char === "]") bracket--;
        else if (bracket === 0 && (char === "," || char === ")" || char === " ")) break;
        this.position++;
      }
      return { kind: "path", path: this.text.slice(start, this.position) };
    }
    const literal = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(rest);
    if (literal) {
      this.position += literal[0].length;
      return { kind: "literal", value: JSON.parse(literal[0]) };
    }
    throw runtimeError(`invalid argument at position ${this.position} of '${this.text}'`);
  }

  /** Reads a quoted string; `\'`, `\{`, `\}` and `\\` are the escapes. */
  parseString(): string {
    this.position++;
    let value = "";
    while (this.position < this.text.length) {
      const char = this.text[this.position++];
      if (char === "'") return value;
      if (char === "\\") {
        const escaped = this.text[this.position++];
        if (escaped === undefined || !"'{}\\".includes(escaped)) {
          throw runtimeError(`invalid escape '\\${escaped ?? ""}' in '${this.text}'`);
        }
        // Mark escaped braces so States.Format can tell them from placeholders.
        if (escaped === "{") value += ESCAPED_OPEN;
        else if (escaped === "}") value += ESCAPED_CLOSE;
        else value += escaped;
        continue;
      }
      value += char;
    }
    throw runtimeError(`unterminated string in '${this.text}'`);
  }
}

function resolveArgument(argument: IntrinsicArgument, resolve: PathResolver): unknown {
  if (argument.kind === "literal") {
    return typeof argument.value === "string" ? unmarkBraces(argument.value) : argument.value;
  }
  if (argument.kind === "path") return resolve(argument.path);
  return invoke(argument.call, resolve);
}

function invoke(call: IntrinsicCall, resolve: PathResolver): unknown {
  const implementation = FUNCTIONS[call.name];
  if (!implementation) throw runtimeError(`unknown intrinsic function ${call.name}`);
  if (call.name === "States.Format") return format(call, resolve);
  const args = call.args.map((argument) => resolveArgument(argument, resolve));
  return implementation(args, call.name);
}

type Implementation = (args: unknown[], name: string) => unknown;

function expectCount(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw runtimeError(`${name} takes ${expected} arguments, received ${args.length}`);
  }
}

function expectString(name: string, value: unknown, position: number): string {
  if (typeof value !== "string")
    throw runtimeError(
      `argument ${position} of ${name} must be a string, received ${describe(value)}`,
    );
  return value;
}

function expectArray(name: string, value: unknown, position: number): unknown[] {
  if (!Array.isArray(value))
    throw runtimeError(
      `argument ${position} of ${name} must be an array, received ${describe(value)}`,
    );
  return value;
}

function expectNumber(name: string, value: unknown, position: number): number {
  if (typeof value !== "number")
    throw runtimeError(
      `argument ${position} of ${name} must be a number, received ${describe(value)}`,
    );
  return value;
}

function expectInteger(name: string, value: unknown, position: number): number {
  const number = expectNumber(name, value, position);
  if (!Number.isInteger(number))
    throw runtimeError(`argument ${position} of ${name} must be an integer, received ${number}`);
  return number;
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/**
 * Prints a value as States.Format does: strings raw, JSON objects as Java maps
 * (`{a=1, b=[]}`) and arrays as Java lists (`[1, 2]`).
 */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${key}=${formatValue(item)}`)
      .join(", ")}}`;
  }
  return String(value);
}

function format(call: IntrinsicCall, resolve: PathResolver): string {
  if (call.args.length === 0)
    throw runtimeError("States.Format takes at least 1 argument, received 0");
  const first = call.args[0];
  const template =
    first.kind === "literal" && typeof first.value === "string"
      ? first.value
      : expectString("States.Format", resolveArgument(first, resolve), 1);
  const values = call.args.slice(1).map((argument) => resolveArgument(argument, resolve));

  let result = "";
  let used = 0;
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === ESCAPED_OPEN) result += "{";
    else if (char === ESCAPED_CLOSE) result += "}";
    else if (char === "{" && template[i + 1] === "}") {
      if (used >= values.length) {
        throw runtimeError(
          `States.Format has more '{}' placeholders than arguments (${values.length})`,
        );
      }
      result += formatValue(values[used++]);
      i++;
    } else result += char;
  }
  if (used !== values.length) {
    throw runtimeError(
      `States.Format received ${values.length} arguments for ${used} '{}' placeholders`,
    );
  }
  return result;
}

// Input strings of States.Base64Encode, States.Base64Decode and States.Hash
// are limited to 10,000 characters.
const MAX_ENCODE_LENGTH = 10_000;
// States.ArrayRange returns at most 1,000 elements.
const MAX_RANGE_LENGTH = 1_000;

const HASH_ALGORITHMS: Record<string, string> = {
  MD5: "md5",
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const FUNCTIONS: Record<string, Implementation> = {
  "States.Format": () => undefined,

  "States.StringToJson": (args, name) => {
    expectCount(name, args, 1);
    const text = expectString(name, args[0], 1);
    try {
      return JSON.parse(text);
    } catch {
      throw runtimeError(`${name} received text that is not JSON: ${text}`);
    }
  },

  "States.JsonToString": (args, name) => {
    expectCount(name, args, 1);
    return JSON.stringify(args[0]);
  },

  "States.Array": (args) => args,

  "States.ArrayPartition": (args, name) => {
    expectCount(name, args, 2);
    const array = expectArray(name, args[0], 1);
    const size = expectInteger(name, args[1], 2);
    if (size <= 0)
      throw runtimeError(`${name} needs a chunk size greater than 0, received ${size}`);
    const chunks: unknown[][] = [];
    for (let i = 0; i < array.length; i += size) chunks.push(array.slice(i, i + size));
    return chunks;
  },

  "States.ArrayContains": (args, name) => {
    expectCount(name, args, 2);
    return expectArray(name, args[0], 1).some((item) => deepEqual(item, args[1]));
  },

  "States.ArrayRange": (args, name) => {
    expectCount(name, args, 3);
    const start = expectInteger(name, args[0], 1);
    const end = expectInteger(name, args[1], 2);
    const step = expectInteger(name, args[2], 3);
    if (step === 0) throw runtimeError(`${name} needs a non-zero step`);
    const range: number[] = [];
    for (let value = start; step > 0 ? value <= end : value >= end; value += step) {
      range.push(value);
      if (range.length > MAX_RANGE_LENGTH) {
        throw runtimeError(`${name} can return at most ${MAX_RANGE_LENGTH} elements`);
      }
    }
    return range;
  },

  "States.ArrayGetItem": (args, name) => {
    expectCount(name, args, 2);
    const array = expectArray(name, args[0], 1);
    const index = expectInteger(name, args[1], 2);
    if (index < 0 || index >= array.length) {
      throw runtimeError(`${name} index ${index} is out of bounds for an array of ${array.length}`);
    }
    return array[index];
  },

  "States.ArrayLength": (args, name) => {
    expectCount(name, args, 1);
    return expectArray(name, args[0], 1).length;
  },

  "States.ArrayUnique": (args, name) => {
    expectCount(name, args, 1);
    const seen = new Set<string>();
    const unique: unknown[] = [];
    for (const item of expectArray(name, args[0], 1)) {
      const key = JSON.stringify(item);
      if (!seen.has(key)) {
        seen.add(key);
        unique.push(item);
      }
    }
    return unique;
  },

  "States.Base64Encode": (args, name) => {
    expectCount(name, args, 1);
    const text = expectString(name, args[0], 1);
    if (text.length > MAX_ENCODE_LENGTH)
      throw runtimeError(`${name} input is longer than ${MAX_ENCODE_LENGTH} characters`);
    return Buffer.from(text, "utf8").toString("base64");
  },

  "States.Base64Decode": (args, name) => {
    expectCount(name, args, 1);
    const text = expectString(name, args[0], 1);
    if (text.length > MAX_ENCODE_LENGTH)
      throw runtimeError(`${name} input is longer than ${MAX_ENCODE_LENGTH} characters`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text))
      throw runtimeError(`${name} input is not base64: ${text}`);
    return Buffer.from(text, "base64").toString("utf8");
  },

  "States.Hash": (args, name) => {
    expectCount(name, args, 2);
    const text = typeof args[0] === "string" ? args[0] : JSON.stringify(args[0]);
    const algorithm = expectString(name, args[1], 2);
    if (text.length > MAX_ENCODE_LENGTH)
      throw runtimeError(`${name} input is longer than ${MAX_ENCODE_LENGTH} characters`);
    const nodeAlgorithm = HASH_ALGORITHMS[algorithm];
    if (!nodeAlgorithm) {
      throw runtimeError(
        `${name} algorithm '${algorithm}' is not one of ${Object.keys(HASH_ALGORITHMS).join(", ")}`,
      );
    }
    return createHash(nodeAlgorithm).update(text, "utf8").digest("hex");
  },

  "States.JsonMerge": (args, name) => {
    expectCount(name, args, 3);
    const [left, right, deep] = args;
    if (!isPlainObject(left) || !isPlainObject(right))
      throw runtimeError(`${name} merges two JSON objects`);
    // AWS supports only the shallow mode: the third argument must be false.
    if (deep !== false)
      throw runtimeError(`${name} supports only shallow merging; pass false as the third argument`);
    return { ...left, ...right };
  },

  "States.MathRandom": (args, name) => {
    expectCount(name, args, 2, 3);
    const start = expectInteger(name, args[0], 1);
    const end = expectInteger(name, args[1], 2);
    // Start is inclusive and end exclusive; a seed makes the draw repeatable.
    const random =
      args.length === 3 ? seededRandom(expectInteger(name, args[2], 3)) : Math.random();
    return start + Math.floor(random * (end - start));
  },

  "States.MathAdd": (args, name) => {
    expectCount(name, args, 2);
    const a = expectNumber(name, args[0], 1);
    const b = expectNumber(name, args[1], 2);
    // Non-integer arguments are rounded to the nearest integer before adding.
    return javaRound(a) + javaRound(b);
  },

  "States.StringSplit": (args, name) => {
    expectCount(name, args, 2);
    const text = expectString(name, args[0], 1);
    const delimiters = expectString(name, args[1], 2);
    // Every character of the delimiter string separates tokens, and empty
    // tokens are dropped.
    const tokens: string[] = [];
    let current = "";
    for (const char of text) {
      if (delimiters.includes(char)) {
        if (current !== "") tokens.push(current);
        current = "";
      } else current += char;
    }
    if (current !== "") tokens.push(current);
    return tokens;
  },

  "States.UUID": (args, name) => {
    expectCount(name, args, 0);
    return randomUUID();
  },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Java's Math.round: halves round up (towards positive infinity). */
function javaRound(value: number): number {
  return Math.floor(value + 0.5);
}

/** A small deterministic generator (mulberry32) for seeded States.MathRandom. */
function seededRandom(seed: number): number {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
