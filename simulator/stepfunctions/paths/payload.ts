/**
 * Input and output processing of JSONPath states: InputPath, Parameters,
 * ResultSelector, ResultPath, OutputPath, and payload templates whose
 * `key.$` fields take a path, a context path or an intrinsic function.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
 */
import { StatesError } from "../errors.ts";
import { evaluateIntrinsic, isIntrinsic } from "./intrinsics.ts";
import { bracketNotation, compilePath, evaluatePath } from "./jsonpath.ts";

/** Data the paths of one state read: its input, the context object and variables. */
export interface DataScope {
  input: unknown;
  context: unknown;
  variables: Record<string, unknown>;
}

/** Resolves a path of any kind: `$.x` (input), `$$.x` (context) or `$name.x` (a variable). */
export function resolvePath(path: string, scope: DataScope): { found: boolean; value: unknown } {
  if (path.startsWith("$$")) return evaluatePath(`$${path.slice(2)}`, scope.context) as never;
  if (path === "$" || path[1] === "." || path[1] === "[")
    return evaluatePath(path, scope.input) as never;

  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)(.*)$/s.exec(path);
  if (!match || !Object.hasOwn(scope.variables, match[1]))
    return { found: false, value: undefined };
  return evaluatePath(`$${match[2]}`, scope.variables[match[1]]) as never;
}

/**
 * Builds a payload template (Parameters, ResultSelector, ItemSelector,
 * Assign): `key.$` fields are replaced by what their path or intrinsic
 * selects, and the `.$` suffix is dropped.
 */
export function buildPayload(template: unknown, scope: DataScope): unknown {
  if (Array.isArray(template)) return template.map((item) => buildPayload(item, scope));
  if (template === null || typeof template !== "object") return template;

  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template as Record<string, unknown>)) {
    if (key.endsWith(".$") && typeof value === "string") {
      result[key.slice(0, -2)] = evaluateDynamicField(key, value, scope);
    } else {
      result[key] = buildPayload(value, scope);
    }
  }
  return result;
}

function evaluateDynamicField(key: string, expression: string, scope: DataScope): unknown {
  if (isIntrinsic(expression)) {
    return evaluateIntrinsic(expression, (path) => {
      const resolved = resolvePath(path, scope);
      if (!resolved.found) throw fieldNotFound(path, key, scope.input);
      return resolved.value;
    });
  }
  const resolved = resolvePath(expression, scope);
  if (!resolved.found) throw fieldNotFound(expression, key, scope.input);
  return resolved.value;
}

/** Runtime error for a `.$` field whose path selects nothing. */
function fieldNotFound(path: string, key: string, input: unknown): StatesError {
  return new StatesError(
    "States.Runtime",
    `The JSONPath '${path}' specified for the field '${key}' could not be found in the input '${JSON.stringify(input)}'`,
  );
}

/** Applies InputPath or OutputPath: undefined keeps the value, null yields `{}`. */
export function selectPath(
  path: string | null | undefined,
  value: unknown,
  scope: Omit<DataScope, "input">,
): unknown {
  if (path === undefined || path === "$") return value;
  if (path === null) return {};
  const resolved = resolvePath(path, { ...scope, input: value });
  if (!resolved.found) {
    throw new StatesError(
      "States.Runtime",
      `Invalid path '${path}' : No results for path: ${bracketNotation(path)}`,
    );
  }
  return resolved.value;
}

/**
 * Applies ResultPath: `$` (the default) replaces the input, null keeps the
 * input and discards the result, and any other reference path writes the
 * result into a copy of the input, creating missing objects on the way.
 */
export function applyResultPath(
  path: string | null | undefined,
  input: unknown,
  result: unknown,
): unknown {
  if (path === undefined || path === "$") return result;
  if (path === null) return input;

  const compiled = compilePath(path);
  if (!compiled.names) {
    throw new StatesError(
      "States.Runtime",
      `Invalid ResultPath '${path}': only object fields can be written`,
    );
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    // NOTE: the wording of this cause is the simulator's own.
    throw new StatesError(
      "States.Runtime",
      `Unable to apply ResultPath '${path}' to input '${JSON.stringify(input)}': the input is not a JSON object`,
    );
  }

  const output: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  let cursor = output;
  const names = compiled.names;
  for (let i = 0; i < names.length - 1; i++) {
    const existing = cursor[names[i]];
    const copy =
      existing !== null && typeof existing === "object" && !Array.isArray(existing)
        ? { ...(existing as Record<string, unknown>) }
        : {};
    cursor[names[i]] = copy;
    cursor = copy;
  }
  cursor[names[names.length - 1]] = result;
  return output;
}
