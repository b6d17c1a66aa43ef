import type { z } from "zod";

/**
 * Zod error map for Lambda's validation errors: each message names what a
 * field allows ("must be a whole number", "must be at most 2"), where zod's
 * default states only what it expected ("Invalid input: expected int,
 * received number"). Pass it to `safeParse(value, { error: allowedValueMessage })`.
 * A message set on the schema itself wins over this map, so fields that
 * name their own range keep it.
 */
export const allowedValueMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "too_small":
      return sizeMessage(issue.origin, "at least", issue.minimum, issue.inclusive, issue.exact);
    case "too_big":
      return sizeMessage(issue.origin, "at most", issue.maximum, issue.inclusive, issue.exact);
    case "invalid_value":
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_format":
      return issue.pattern ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    case "unrecognized_keys":
      return `has unknown fields ${issue.keys.join(", ")}`;
    default:
      return undefined;
  }
};

/**
 * Returns true when `path` names no value in `input`, so the message can
 * start with "Missing value" instead of "Invalid value".
 */
export function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return true;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a JSON object",
  record: "a JSON object",
  array: "a JSON array",
};

function sizeMessage(
  origin: string,
  bound: "at least" | "at most",
  limit: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
): string {
  if (origin === "string") {
    if (bound === "at least" && Number(limit) === 1 && !exact) return "must not be empty";
    const characters = Number(limit) === 1 ? "character" : "characters";
    return `must be ${exact ? "exactly" : bound} ${limit} ${characters}`;
  }
  if (origin === "array" || origin === "set") {
    const items = Number(limit) === 1 ? "item" : "items";
    return `must have ${exact ? "exactly" : bound} ${limit} ${items}`;
  }
  if (inclusive === false) return `must be ${bound === "at least" ? "more" : "less"} than ${limit}`;
  return `must be ${bound} ${limit}`;
}
