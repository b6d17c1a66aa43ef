/**
 * Finds, reads and validates a scenario: a shipped name (`seed-workday`) or a
 * YAML file path.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
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
  const looksLikePath = nameOrFile.includes("/") || nameOrFile.endsWith(".yaml") || nameOrFile.endsWith(".yml");
  const file = looksLikePath ? path.resolve(nameOrFile) : path.join(SCENARIOS_DIR, `${nameOrFile}.yaml`);
  if (!existsSync(file)) {
    const known = shippedScenarioNames().join(", ");
    throw new ScenarioError(`Scenario "${nameOrFile}" not found (looked for ${file}). Shipped scenarios: ${known}; or pass a path to a YAML file.`);
  }

  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ScenarioError(`Scenario file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  return { scenario: parseScenario(document, path.basename(file)), file };
}

/** Validates a parsed scenario document, throwing a ScenarioError that names every invalid field. */
export function parseScenario(document: unknown, label = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(document);
  if (result.success) return result.data;

  const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue)}`);
  throw new ScenarioError(`Invalid scenario ${label}:\n${lines.join("\n")}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.join(".") || "(top level)";
  switch (issue.code) {
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      if (options) return `${field}: invalid value, allowed values: ${options.map(String).join(", ")}`;
      return `${field}: ${issue.message}`;
    }
    case "invalid_value":
      return `${field}: invalid value, allowed values: ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "unrecognized_keys": {
      const allowed = allowedKeysAt(issue.path);
      const hint = allowed ? `; allowed fields: ${allowed.join(", ")}` : "";
      return `${field}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}${hint}`;
    }
    default:
      return `${field}: ${issue.message}`;
  }
}

interface SchemaDefinition {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDefinition } }>;
  innerType?: { _zod: { def: SchemaDefinition } };
  in?: { _zod: { def: SchemaDefinition } };
  keyType?: { _zod: { def: SchemaDefinition } };
  valueType?: { _zod: { def: SchemaDefinition } };
  entries?: Record<string, string>;
}

// Walks the schema along a path to list the fields an object accepts there.
// Unions are not walked, so fields inside `arrivals` list no hint.
function allowedKeysAt(issuePath: PropertyKey[]): string[] | undefined {
  let definition: SchemaDefinition | undefined = (scenarioSchema as unknown as { _zod: { def: SchemaDefinition } })._zod.def;
  const unwrap = () => {
    while (definition && (definition.type === "default" || definition.type === "optional" || definition.type === "pipe")) {
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
  if (definition?.type === "object" && definition.shape) return Object.keys(definition.shape);
  if (definition?.type === "record" && definition.keyType?._zod.def.entries) return Object.keys(definition.keyType._zod.def.entries);
  return undefined;
}
