/**
 * Finds, reads and validates a scenario: a shipped name (`seed-workday`) or a
 * YAML file path.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { type Scenario, scenarioSchema } from "./scenario-schema.ts";

/** Folder of the shipped scenarios. */
export const SCENARIOS_DIR = fileURLToPath(new URL("../../pipelines/scenarios/", import.meta.url));

/** A scenario that failed validation; the message lists every invalid field. */
export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScenarioError";
  }
}

/** A validated scenario and the file it came from. */
export interface LoadedScenario {
  scenario: Scenario;
  /** Absolute path of the YAML file, or undefined for an in-memory scenario. */
  file?: string;
}

/** Names of the shipped scenarios. */
export function shippedScenarioNames(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((name) => name.endsWith(".yaml"))
    .map((name) => name.replace(/\.yaml$/, ""))
    .sort();
}

/** Loads a shipped scenario by name, or a scenario file by path. */
export function loadScenario(nameOrFile: string): LoadedScenario {
  const looksLikePath =
    nameOrFile.includes("/") || nameOrFile.endsWith(".yaml") || nameOrFile.endsWith(".yml");
  const file = looksLikePath
    ? path.resolve(nameOrFile)
    : path.join(SCENARIOS_DIR, `${nameOrFile}.yaml`);
  if (!existsSync(file)) {
    const known = shippedScenarioNames().join(", ");
    throw new ScenarioError(
      `Scenario "${nameOrFile}" not found (looked for ${file}). Shipped scenarios: ${known}; or pass a path to a YAML file.`,
    );
  }

  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ScenarioError(`Scenario file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  return { scenario: parseScenario(document, path.basename(file)), file };
}

/**
 * Validates a parsed scenario document, throwing a ScenarioError that names
 * every invalid field, the value it received and what is allowed.
 */
export function parseScenario(document: unknown, label = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(document);
  if (result.success) return result.data;

  const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue, document)}`);
  throw new ScenarioError(`Invalid scenario ${label}:\n${lines.join("\n")}`);
}

/**
 * Describes one issue as "FIELD: invalid value VALUE; WHAT IS ALLOWED", or
 * "FIELD: missing; WHAT IS EXPECTED" when the field is absent.
 */
function describeIssue(issue: z.core.$ZodIssue, document: unknown): string {
  const field = issue.path.join(".") || "(top level)";
  const received = valueAt(document, issue.path);

  if (issue.code === "unrecognized_keys") {
    const allowed = allowedKeysAt(issue.path, document);
    const hint = allowed ? `; allowed fields: ${allowed.join(", ")}` : "";
    return `${field}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}${hint}`;
  }
  const allowed = describeAllowed(issue);
  if (received === undefined) return `${field}: missing; ${allowed}`;
  return `${field}: invalid value ${showValue(received)}; ${allowed}`;
}

// Words what the field allows, for each kind of zod issue.
function describeAllowed(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `allowed values: ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "invalid_union": {
      // A discriminated union reports the allowed discriminator values as `options`.
      const options = (issue as { options?: unknown[] }).options;
      if (options)
        return `allowed values: ${options.map((value) => JSON.stringify(value)).join(", ")}`;
      const expected = issue.errors.flatMap((branch) =>
        branch
          .filter((inner) => inner.code === "invalid_type" && inner.path.length === 0)
          .map((inner) => article((inner as { expected: string }).expected)),
      );
      return expected.length > 0
        ? `expected ${[...new Set(expected)].join(" or ")}`
        : "matches none of the allowed forms";
    }
    case "invalid_type":
      return `expected ${article(issue.expected)}`;
    case "too_small":
      return `must be ${bound(issue.origin, issue.minimum, issue.inclusive, "at least", "greater than")}`;
    case "too_big":
      return `must be ${bound(issue.origin, issue.maximum, issue.inclusive, "at most", "less than")}`;
    case "invalid_format":
      if (issue.format === "datetime")
        return 'expected an ISO 8601 date and time with offset, such as "2026-03-02T08:00:00-05:00"';
      return issue.message;
    default:
      return issue.message;
  }
}

// Words a minimum or maximum, e.g. "a number greater than 0" or "a list of at least 1 item".
function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  inclusiveWord: string,
  exclusiveWord: string,
): string {
  if (origin === "array")
    return `a list of ${inclusive ? inclusiveWord : exclusiveWord} ${limit} item${limit === 1 ? "" : "s"}`;
  if (origin === "string")
    return `a text of ${inclusive ? inclusiveWord : exclusiveWord} ${limit} character${limit === 1 ? "" : "s"}`;
  return `a number ${inclusive ? inclusiveWord : exclusiveWord} ${limit}`;
}

function article(expected: string): string {
  if (expected === "int") return "an integer";
  if (expected === "object") return "an object";
  if (expected === "array") return "a list";
  return `a ${expected}`;
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function valueAt(document: unknown, issuePath: PropertyKey[]): unknown {
  let value = document;
  for (const key of issuePath) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

interface SchemaDefinition {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDefinition } }>;
  innerType?: { _zod: { def: SchemaDefinition } };
  in?: { _zod: { def: SchemaDefinition } };
  keyType?: { _zod: { def: SchemaDefinition } };
  valueType?: { _zod: { def: SchemaDefinition } };
  entries?: Record<string, string>;
  options?: Array<{ _zod: { def: SchemaDefinition } }>;
  discriminator?: string;
}

// Walks the schema along a path to list the fields an object accepts there.
// A discriminated union (`arrivals`) is walked into the option that the
// document's discriminator value (`model`) selects.
function allowedKeysAt(issuePath: PropertyKey[], document: unknown): string[] | undefined {
  let definition: SchemaDefinition | undefined = (
    scenarioSchema as unknown as { _zod: { def: SchemaDefinition } }
  )._zod.def;
  const unwrap = () => {
    while (
      definition &&
      (definition.type === "default" ||
        definition.type === "optional" ||
        definition.type === "pipe")
    ) {
      definition = (definition.innerType ?? definition.in)?._zod.def;
    }
  };
  for (const key of issuePath) {
    unwrap();
    if (definition?.type === "object") definition = definition.shape?.[String(key)]?._zod.def;
    else if (definition?.type === "record") definition = definition.valueType?._zod.def;
    else return undefined;
  }
  unwrap();
  if (definition?.type === "union" && definition.discriminator && definition.options) {
    const discriminator = definition.discriminator;
    const selected = valueAt(document, [...issuePath, discriminator]);
    definition = definition.options
      .map((option) => option._zod.def)
      .find((option) => {
        const literal = option.shape?.[discriminator]?._zod.def as
          | { values?: unknown[] }
          | undefined;
        return literal?.values?.includes(selected);
      });
    unwrap();
  }
  if (definition?.type === "object" && definition.shape) return Object.keys(definition.shape);
  if (definition?.type === "record" && definition.keyType?._zod.def.entries)
    return Object.keys(definition.keyType._zod.def.entries);
  return undefined;
}
