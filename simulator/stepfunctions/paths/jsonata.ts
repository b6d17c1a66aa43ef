/**
 * JSONata states: strings written `{% expression %}` are JSONata expressions
 * evaluated with `$states` (input, result, errorOutput, context) and the
 * workflow variables bound, plus the functions Step Functions adds.
 * https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
 */
import { createHash, randomUUID } from "node:crypto";
import jsonata from "jsonata";
import { StatesError } from "../errors.ts";

/** Value of `$states` in a JSONata expression. */
export interface JsonataStates {
  input: unknown;
  context: unknown;
  result?: unknown;
  errorOutput?: unknown;
}

type Expression = ReturnType<typeof jsonata>;
const cache = new Map<string, Expression>();

/** True when `value` is a string of the form `{% ... %}`. */
export function isJsonataExpression(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("{%") && value.endsWith("%}");
}

function compile(source: string): Expression {
  let expression = cache.get(source);
  if (expression) return expression;
  try {
    expression = jsonata(source);
  } catch (error) {
    throw new StatesError(
      "States.QueryEvaluationError",
      `The JSONata expression '${source}' is invalid: ${(error as Error).message}`,
    );
  }
  registerFunctions(expression);
  cache.set(source, expression);
  return expression;
}

function registerFunctions(expression: Expression): void {
  expression.registerFunction(
    "partition",
    (array: unknown[], size: number) => {
      const chunks: unknown[][] = [];
      for (let i = 0; i < array.length; i += size) chunks.push(array.slice(i, i + size));
      return chunks;
    },
    "<an:a>",
  );
  expression.registerFunction(
    "range",
    (start: number, end: number, step: number) => {
      const values: number[] = [];
      for (let value = start; step > 0 ? value <= end : value >= end; value += step)
        values.push(value);
      return values;
    },
    "<nnn:a>",
  );
  expression.registerFunction(
    "hash",
    (text: string, algorithm: string) => {
      const names: Record<string, string> = {
        MD5: "md5",
        "SHA-1": "sha1",
        "SHA-256": "sha256",
        "SHA-384": "sha384",
        "SHA-512": "sha512",
      };
      return createHash(names[algorithm] ?? "sha256")
        .update(text)
        .digest("hex");
    },
    "<ss:s>",
  );
  expression.registerFunction("random", () => Math.random(), "<n?:n>");
  expression.registerFunction("uuid", () => randomUUID(), "<:s>");
  expression.registerFunction("parse", (text: string) => JSON.parse(text), "<s:x>");
}

/** Evaluates one `{% %}` string. Undefined results are an error, as on AWS. */
export async function evaluateJsonata(
  text: string,
  states: JsonataStates,
  variables: Record<string, unknown>,
): Promise<unknown> {
  const source = text.slice(2, -2).trim();
  const expression = compile(source);
  let result: unknown;
  try {
    result = await expression.evaluate({}, { ...variables, states });
  } catch (error) {
    throw new StatesError(
      "States.QueryEvaluationError",
      `An error occurred while evaluating the JSONata expression '${source}': ${(error as Error).message}`,
    );
  }
  return normalize(result);
}

/** JSONata returns arrays with extra markers; turn results into plain JSON. */
function normalize(value: unknown): unknown {
  if (value === undefined) return undefined;
  return JSON.parse(JSON.stringify(value));
}

/**
 * Evaluates a template (Arguments, Output, Assign, Items...): every
 * `{% %}` string inside it is replaced by its value.
 */
export async function evaluateTemplate(
  template: unknown,
  states: JsonataStates,
  variables: Record<string, unknown>,
): Promise<unknown> {
  if (isJsonataExpression(template)) return evaluateJsonata(template, states, variables);
  if (Array.isArray(template)) {
    const items: unknown[] = [];
    for (const item of template) items.push(await evaluateTemplate(item, states, variables));
    return items;
  }
  if (template === null || typeof template !== "object") return template;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template as Record<string, unknown>)) {
    const evaluated = await evaluateTemplate(value, states, variables);
    if (evaluated !== undefined) result[key] = evaluated;
  }
  return result;
}
