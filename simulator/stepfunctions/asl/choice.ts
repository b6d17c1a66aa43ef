/**
 * Evaluation of JSONPath Choice rules: every comparison operator, their
 * `...Path` variants, the `Is...` tests and And/Or/Not.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
 */
import { StatesError } from "../errors.ts";
import { type DataScope, resolvePath } from "../paths/payload.ts";
import type { ChoiceRule } from "./types.ts";

type Comparison = (value: unknown, expected: unknown) => boolean;

const compareStrings =
  (test: (a: string, b: string) => boolean): Comparison =>
  (value, expected) =>
    typeof value === "string" && typeof expected === "string" && test(value, expected);

const compareNumbers =
  (test: (a: number, b: number) => boolean): Comparison =>
  (value, expected) =>
    typeof value === "number" && typeof expected === "number" && test(value, expected);

const compareTimestamps =
  (test: (a: number, b: number) => boolean): Comparison =>
  (value, expected) => {
    const a = parseTimestamp(value);
    const b = parseTimestamp(expected);
    return a !== undefined && b !== undefined && test(a, b);
  };

const COMPARISONS: Record<string, Comparison> = {
  StringEquals: compareStrings((a, b) => a === b),
  StringLessThan: compareStrings((a, b) => a < b),
  StringGreaterThan: compareStrings((a, b) => a > b),
  StringLessThanEquals: compareStrings((a, b) => a <= b),
  StringGreaterThanEquals: compareStrings((a, b) => a >= b),
  NumericEquals: compareNumbers((a, b) => a === b),
  NumericLessThan: compareNumbers((a, b) => a < b),
  NumericGreaterThan: compareNumbers((a, b) => a > b),
  NumericLessThanEquals: compareNumbers((a, b) => a <= b),
  NumericGreaterThanEquals: compareNumbers((a, b) => a >= b),
  BooleanEquals: (value, expected) => typeof value === "boolean" && value === expected,
  TimestampEquals: compareTimestamps((a, b) => a === b),
  TimestampLessThan: compareTimestamps((a, b) => a < b),
  TimestampGreaterThan: compareTimestamps((a, b) => a > b),
  TimestampLessThanEquals: compareTimestamps((a, b) => a <= b),
  TimestampGreaterThanEquals: compareTimestamps((a, b) => a >= b),
  StringMatches: (value, pattern) =>
    typeof value === "string" && typeof pattern === "string" && wildcardMatch(value, pattern),
};

const TESTS: Record<string, (value: unknown) => boolean> = {
  IsNull: (value) => value === null,
  IsNumeric: (value) => typeof value === "number",
  IsString: (value) => typeof value === "string",
  IsBoolean: (value) => typeof value === "boolean",
  IsTimestamp: (value) => parseTimestamp(value) !== undefined,
};

/** Every operator a Choice rule may use. */
export const CHOICE_OPERATORS = new Set([
  ...Object.keys(COMPARISONS),
  ...Object.keys(COMPARISONS)
    .filter((name) => name !== "StringMatches")
    .map((name) => `${name}Path`),
  ...Object.keys(TESTS),
  "IsPresent",
]);

/** Evaluates one rule against the state's effective input. */
export function evaluateChoiceRule(rule: ChoiceRule, scope: DataScope): boolean {
  if (rule.And) return rule.And.every((inner) => evaluateChoiceRule(inner, scope));
  if (rule.Or) return rule.Or.some((inner) => evaluateChoiceRule(inner, scope));
  if (rule.Not) return !evaluateChoiceRule(rule.Not, scope);

  const variablePath = rule.Variable as string;
  const variable = resolvePath(variablePath, scope);
  for (const key in rule) {
    if (key === "Variable" || key === "Next") continue;
    if (key === "IsPresent") return variable.found === rule.IsPresent;

    if (!variable.found) {
      throw new StatesError(
        "States.Runtime",
        `Invalid path '${variablePath}': The choice state's condition path references an invalid value.`,
      );
    }
    const test = TESTS[key];
    if (test) return test(variable.value) === rule[key];

    if (key.endsWith("Path") && COMPARISONS[key.slice(0, -4)]) {
      const expectedPath = rule[key] as string;
      const expected = resolvePath(expectedPath, scope);
      if (!expected.found) {
        throw new StatesError(
          "States.Runtime",
          `Invalid path '${expectedPath}': The choice state's condition path references an invalid value.`,
        );
      }
      return COMPARISONS[key.slice(0, -4)](variable.value, expected.value);
    }
    const comparison = COMPARISONS[key];
    if (comparison) return comparison(variable.value, rule[key]);
  }
  return false;
}

/** Parses an RFC 3339 timestamp (with a `T` and a zone) to epoch milliseconds. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value))
    return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * StringMatches: `*` matches any run of characters; `\*` is a literal star
 * and `\\` a literal backslash.
 */
function wildcardMatch(value: string, pattern: string): boolean {
  let expression = "^";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\" && (pattern[i + 1] === "*" || pattern[i + 1] === "\\")) {
      expression += `\\${pattern[++i]}`;
    } else if (char === "*") expression += ".*";
    else expression += char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${expression}$`, "s").test(value);
}
