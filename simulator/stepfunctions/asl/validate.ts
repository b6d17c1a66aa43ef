/**
 * Validation of state machine definitions, done once by CreateStateMachine,
 * UpdateStateMachine and TestState. Problems are reported as AWS reports
 * them: `Invalid State Machine Definition: 'CODE: text at /json/pointer'`,
 * several joined with ", ".
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
 * NOTE: the codes are AWS's; the sentences after them are the simulator's.
 */
import { apiErrors } from "../errors.ts";
import { MAX_DEFINITION_BYTES } from "../limits.ts";
import { isIntrinsic } from "../paths/intrinsics.ts";
import { compilePath } from "../paths/jsonpath.ts";
import { CHOICE_OPERATORS } from "./choice.ts";
import type { QueryLanguage, StateDefinition, StateMachineDefinition } from "./types.ts";

const STATE_TYPES = new Set([
  "Pass",
  "Task",
  "Choice",
  "Wait",
  "Succeed",
  "Fail",
  "Parallel",
  "Map",
]);

const COMMON = ["Type", "Comment", "QueryLanguage"];
const JSONPATH_IO = ["InputPath", "OutputPath"];
const FLOW = ["Next", "End"];
const ALLOWED_FIELDS: Record<string, string[]> = {
  Pass: [
    ...COMMON,
    ...FLOW,
    ...JSONPATH_IO,
    "Parameters",
    "ResultPath",
    "Result",
    "Output",
    "Assign",
  ],
  Task: [
    ...COMMON,
    ...FLOW,
    ...JSONPATH_IO,
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Arguments",
    "Output",
    "Assign",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Retry",
    "Catch",
    "Credentials",
  ],
  Choice: [...COMMON, ...JSONPATH_IO, "Choices", "Default", "Output", "Assign"],
  Wait: [
    ...COMMON,
    ...FLOW,
    ...JSONPATH_IO,
    "Seconds",
    "Timestamp",
    "SecondsPath",
    "TimestampPath",
    "Output",
    "Assign",
  ],
  Succeed: [...COMMON, ...JSONPATH_IO, "Output"],
  Fail: [...COMMON, "Error", "Cause", "ErrorPath", "CausePath"],
  Parallel: [
    ...COMMON,
    ...FLOW,
    ...JSONPATH_IO,
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Arguments",
    "Output",
    "Assign",
    "Branches",
    "Retry",
    "Catch",
  ],
  Map: [
    ...COMMON,
    ...FLOW,
    ...JSONPATH_IO,
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Arguments",
    "Output",
    "Assign",
    "Iterator",
    "ItemProcessor",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "Label",
    "Retry",
    "Catch",
  ],
};

// Fields that only JSONPath states accept, and those only JSONata states accept.
const JSONPATH_ONLY = [
  "InputPath",
  "OutputPath",
  "Parameters",
  "ResultSelector",
  "ResultPath",
  "Result",
  "ItemsPath",
  "SecondsPath",
  "TimestampPath",
  "ErrorPath",
  "CausePath",
  "TimeoutSecondsPath",
  "HeartbeatSecondsPath",
  "MaxConcurrencyPath",
  "ToleratedFailureCountPath",
  "ToleratedFailurePercentagePath",
  "Iterator",
];
const JSONATA_ONLY = ["Arguments", "Output", "Items"];

/**
 * One problem in a definition, as ValidateStateMachineDefinition returns it:
 * `location` is a JSON pointer into the definition, absent for a JSON syntax error.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
 */
export interface DefinitionDiagnostic {
  severity: "ERROR";
  code: string;
  message: string;
  location?: string;
}

class Issues {
  readonly diagnostics: DefinitionDiagnostic[] = [];

  add(code: string, text: string, pointer: string): void {
    this.diagnostics.push({ severity: "ERROR", code, message: text, location: pointer });
  }

  /** Formats the problems as CreateStateMachine's InvalidDefinition message lists them. */
  get list(): string[] {
    return this.diagnostics.map((diagnostic) =>
      diagnostic.location === undefined
        ? `${diagnostic.code}: ${diagnostic.message}`
        : `${diagnostic.code}: ${diagnostic.message} at ${diagnostic.location}`,
    );
  }
}

/** Parses and validates a definition; throws InvalidDefinition listing every problem. */
export function parseDefinition(text: string): StateMachineDefinition {
  const { definition, issues } = checkDefinition(text);
  if (issues.diagnostics.length > 0) {
    throw apiErrors.invalidDefinition(
      `Invalid State Machine Definition: '${issues.list.join(", ")}'`,
    );
  }
  return definition as StateMachineDefinition;
}

/**
 * Lists every problem that makes CreateStateMachine reject `text`, for
 * ValidateStateMachineDefinition. An empty list means the definition is valid.
 */
export function diagnoseDefinition(text: string): DefinitionDiagnostic[] {
  return checkDefinition(text).issues.diagnostics;
}

function checkDefinition(text: string): { definition: unknown; issues: Issues } {
  if (Buffer.byteLength(text, "utf8") > MAX_DEFINITION_BYTES) {
    throw apiErrors.validation(
      "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    );
  }
  const issues = new Issues();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    issues.diagnostics.push({
      severity: "ERROR",
      code: "INVALID_JSON_DESCRIPTION",
      message: (error as Error).message,
    });
    return { definition: undefined, issues };
  }

  if (!isObject(parsed)) {
    issues.add("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", "/");
  } else {
    const language = parsed.QueryLanguage ?? "JSONPath";
    if (language !== "JSONPath" && language !== "JSONata") {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        "QueryLanguage must be JSONPath or JSONata",
        "/QueryLanguage",
      );
    }
    if (parsed.TimeoutSeconds !== undefined && !isPositiveInteger(parsed.TimeoutSeconds)) {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        "TimeoutSeconds must be a positive integer",
        "/TimeoutSeconds",
      );
    }
    validateMachine(parsed, "", language as QueryLanguage, issues);
  }
  return { definition: parsed, issues };
}

/** Validates one state on its own, as TestState receives it. */
export function parseSingleState(
  text: string,
  language: QueryLanguage = "JSONPath",
): StateDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw apiErrors.invalidDefinition(
      `Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ${(error as Error).message}'`,
    );
  }
  const issues = new Issues();
  if (!isObject(parsed))
    issues.add("SCHEMA_VALIDATION_FAILED", "The state must be a JSON object", "/");
  else
    validateState(
      parsed,
      "",
      (parsed.QueryLanguage as QueryLanguage) ?? language,
      issues,
      undefined,
    );
  if (issues.list.length > 0) {
    throw apiErrors.invalidDefinition(
      `Invalid State Machine Definition: '${issues.list.join(", ")}'`,
    );
  }
  return parsed as unknown as StateDefinition;
}

function validateMachine(
  machine: Record<string, unknown>,
  pointer: string,
  language: QueryLanguage,
  issues: Issues,
): void {
  const states = machine.States;
  if (typeof machine.StartAt !== "string") {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "The field 'StartAt' is required but was missing",
      pointer || "/",
    );
  }
  if (!isObject(states) || Object.keys(states).length === 0) {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "The field 'States' must be a non-empty object",
      `${pointer}/States`,
    );
    return;
  }
  const names = new Set(Object.keys(states));
  if (typeof machine.StartAt === "string" && !names.has(machine.StartAt)) {
    issues.add(
      "MISSING_TRANSITION_TARGET",
      `Missing 'Next' target: ${machine.StartAt}`,
      `${pointer}/StartAt`,
    );
  }

  for (const [name, state] of Object.entries(states)) {
    const statePointer = `${pointer}/States/${name}`;
    if (name.length > 80)
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        "State names must be at most 80 characters",
        statePointer,
      );
    if (!isObject(state)) {
      issues.add("SCHEMA_VALIDATION_FAILED", "A state must be a JSON object", statePointer);
      continue;
    }
    validateState(
      state,
      statePointer,
      (state.QueryLanguage as QueryLanguage) ?? language,
      issues,
      names,
    );
  }

  if (typeof machine.StartAt === "string" && names.has(machine.StartAt)) {
    for (const unreachable of findUnreachable(
      machine.StartAt,
      states as Record<string, Record<string, unknown>>,
    )) {
      issues.add(
        "UNREACHABLE_STATE",
        `State "${unreachable}" is not reachable.`,
        `${pointer}/States/${unreachable}`,
      );
    }
  }
}

function validateState(
  state: Record<string, unknown>,
  pointer: string,
  language: QueryLanguage,
  issues: Issues,
  names: Set<string> | undefined,
): void {
  const type = state.Type;
  if (typeof type !== "string" || !STATE_TYPES.has(type)) {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      `The field 'Type' must be one of ${[...STATE_TYPES].join(", ")}`,
      `${pointer}/Type`,
    );
    return;
  }
  if (
    state.QueryLanguage !== undefined &&
    state.QueryLanguage !== "JSONPath" &&
    state.QueryLanguage !== "JSONata"
  ) {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "QueryLanguage must be JSONPath or JSONata",
      `${pointer}/QueryLanguage`,
    );
  }

  for (const field of Object.keys(state)) {
    if (!ALLOWED_FIELDS[type].includes(field)) {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        `Field '${field}' is not supported by ${type} states`,
        `${pointer}/${field}`,
      );
    } else if (language === "JSONata" && JSONPATH_ONLY.includes(field)) {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        `Field '${field}' is not supported in JSONata states`,
        `${pointer}/${field}`,
      );
    } else if (language === "JSONPath" && JSONATA_ONLY.includes(field)) {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        `Field '${field}' is only supported in JSONata states`,
        `${pointer}/${field}`,
      );
    }
  }

  const checkTarget = (target: unknown, at: string) => {
    if (typeof target !== "string")
      issues.add("SCHEMA_VALIDATION_FAILED", "The transition target must be a string", at);
    else if (names && !names.has(target))
      issues.add("MISSING_TRANSITION_TARGET", `Missing 'Next' target: ${target}`, at);
  };

  if (["Pass", "Task", "Wait", "Parallel", "Map"].includes(type)) {
    if (state.End !== undefined && state.End !== true && state.End !== false) {
      issues.add("SCHEMA_VALIDATION_FAILED", "End must be a boolean", `${pointer}/End`);
    }
    const hasNext = state.Next !== undefined;
    const ends = state.End === true;
    if (hasNext && ends)
      issues.add("SCHEMA_VALIDATION_FAILED", "A state cannot have both 'Next' and 'End'", pointer);
    else if (!hasNext && !ends && names) {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        "The state needs either 'Next' or 'End': true",
        pointer,
      );
    }
    if (hasNext) checkTarget(state.Next, `${pointer}/Next`);
  }

  if (language === "JSONPath") validatePaths(state, pointer, issues);
  validateErrorHandlers(state, pointer, issues, checkTarget);

  switch (type) {
    case "Task":
      if (typeof state.Resource !== "string") {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "The field 'Resource' is required but was missing",
          pointer,
        );
      }
      checkExclusive(state, pointer, issues, ["TimeoutSeconds", "TimeoutSecondsPath"], false);
      checkExclusive(state, pointer, issues, ["HeartbeatSeconds", "HeartbeatSecondsPath"], false);
      if (typeof state.TimeoutSeconds === "number" && !isPositiveInteger(state.TimeoutSeconds)) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "TimeoutSeconds must be a positive integer",
          `${pointer}/TimeoutSeconds`,
        );
      }
      if (
        typeof state.HeartbeatSeconds === "number" &&
        !isPositiveInteger(state.HeartbeatSeconds)
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "HeartbeatSeconds must be a positive integer",
          `${pointer}/HeartbeatSeconds`,
        );
      }
      if (
        typeof state.TimeoutSeconds === "number" &&
        typeof state.HeartbeatSeconds === "number" &&
        state.HeartbeatSeconds >= state.TimeoutSeconds
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "HeartbeatSeconds must be smaller than TimeoutSeconds",
          `${pointer}/HeartbeatSeconds`,
        );
      }
      break;
    case "Choice":
      if (state.End !== undefined || state.Next !== undefined) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "Choice states cannot have 'Next' or 'End'",
          pointer,
        );
      }
      if (!Array.isArray(state.Choices) || state.Choices.length === 0) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "The field 'Choices' must be a non-empty array",
          `${pointer}/Choices`,
        );
      } else {
        state.Choices.forEach((rule, index) => {
          validateChoiceRule(
            rule,
            `${pointer}/Choices/${index}`,
            language,
            issues,
            true,
            checkTarget,
          );
        });
      }
      if (state.Default !== undefined) checkTarget(state.Default, `${pointer}/Default`);
      break;
    case "Wait":
      checkExclusive(
        state,
        pointer,
        issues,
        ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
        true,
      );
      if (
        typeof state.Seconds === "number" &&
        (!Number.isInteger(state.Seconds) || state.Seconds < 0)
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "Seconds must be a non-negative integer",
          `${pointer}/Seconds`,
        );
      }
      if (
        typeof state.Timestamp === "string" &&
        !state.Timestamp.startsWith("{%") &&
        Number.isNaN(Date.parse(state.Timestamp))
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "Timestamp must be an ISO-8601 timestamp",
          `${pointer}/Timestamp`,
        );
      }
      break;
    case "Fail":
      checkExclusive(state, pointer, issues, ["Error", "ErrorPath"], false);
      checkExclusive(state, pointer, issues, ["Cause", "CausePath"], false);
      break;
    case "Parallel":
      if (!Array.isArray(state.Branches) || state.Branches.length === 0) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "The field 'Branches' must be a non-empty array",
          `${pointer}/Branches`,
        );
      } else {
        state.Branches.forEach((branch, index) => {
          if (isObject(branch))
            validateMachine(
              branch,
              `${pointer}/Branches/${index}`,
              (branch.QueryLanguage as QueryLanguage) ?? language,
              issues,
            );
          else
            issues.add(
              "SCHEMA_VALIDATION_FAILED",
              "A branch must be a JSON object",
              `${pointer}/Branches/${index}`,
            );
        });
      }
      break;
    case "Map": {
      const processor = state.ItemProcessor ?? state.Iterator;
      const field = state.ItemProcessor ? "ItemProcessor" : "Iterator";
      if (state.ItemProcessor && state.Iterator) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "A Map state cannot have both 'ItemProcessor' and 'Iterator'",
          pointer,
        );
      }
      if (!isObject(processor)) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "The field 'ItemProcessor' is required but was missing",
          pointer,
        );
      } else {
        validateMachine(
          processor,
          `${pointer}/${field}`,
          (processor.QueryLanguage as QueryLanguage) ?? language,
          issues,
        );
      }
      checkExclusive(state, pointer, issues, ["MaxConcurrency", "MaxConcurrencyPath"], false);
      checkExclusive(state, pointer, issues, ["Parameters", "ItemSelector"], false);
      if (
        typeof state.MaxConcurrency === "number" &&
        (!Number.isInteger(state.MaxConcurrency) || state.MaxConcurrency < 0)
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "MaxConcurrency must be a non-negative integer",
          `${pointer}/MaxConcurrency`,
        );
      }
      const percentage = state.ToleratedFailurePercentage;
      if (typeof percentage === "number" && (percentage < 0 || percentage > 100)) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "ToleratedFailurePercentage must be between 0 and 100",
          `${pointer}/ToleratedFailurePercentage`,
        );
      }
      break;
    }
  }
}

function validateErrorHandlers(
  state: Record<string, unknown>,
  pointer: string,
  issues: Issues,
  checkTarget: (target: unknown, at: string) => void,
): void {
  for (const field of ["Retry", "Catch"] as const) {
    const handlers = state[field];
    if (handlers === undefined) continue;
    if (!Array.isArray(handlers)) {
      issues.add("SCHEMA_VALIDATION_FAILED", `${field} must be an array`, `${pointer}/${field}`);
      continue;
    }
    handlers.forEach((handler, index) => {
      const at = `${pointer}/${field}/${index}`;
      if (!isObject(handler)) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          `A ${field === "Retry" ? "Retrier" : "Catcher"} must be a JSON object`,
          at,
        );
        return;
      }
      const errors = handler.ErrorEquals;
      if (
        !Array.isArray(errors) ||
        errors.length === 0 ||
        errors.some((error) => typeof error !== "string")
      ) {
        issues.add(
          "SCHEMA_VALIDATION_FAILED",
          "ErrorEquals must be a non-empty array of strings",
          `${at}/ErrorEquals`,
        );
      } else if (errors.includes("States.ALL")) {
        // States.ALL must appear alone in its ErrorEquals and in the last
        // Retrier or Catcher.
        // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
        if (errors.length > 1 || index !== handlers.length - 1) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "States.ALL must appear alone and in the last element",
            `${at}/ErrorEquals`,
          );
        }
      }
      if (field === "Catch") checkTarget(handler.Next, `${at}/Next`);
      if (field === "Retry") {
        if (
          handler.MaxAttempts !== undefined &&
          (!Number.isInteger(handler.MaxAttempts) || (handler.MaxAttempts as number) < 0)
        ) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "MaxAttempts must be a non-negative integer",
            `${at}/MaxAttempts`,
          );
        }
        if (handler.IntervalSeconds !== undefined && !isPositiveInteger(handler.IntervalSeconds)) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "IntervalSeconds must be a positive integer",
            `${at}/IntervalSeconds`,
          );
        }
        if (
          handler.BackoffRate !== undefined &&
          (typeof handler.BackoffRate !== "number" || handler.BackoffRate < 1)
        ) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "BackoffRate must be a number of at least 1.0",
            `${at}/BackoffRate`,
          );
        }
        if (handler.MaxDelaySeconds !== undefined && !isPositiveInteger(handler.MaxDelaySeconds)) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "MaxDelaySeconds must be a positive integer",
            `${at}/MaxDelaySeconds`,
          );
        }
        if (
          handler.JitterStrategy !== undefined &&
          handler.JitterStrategy !== "FULL" &&
          handler.JitterStrategy !== "NONE"
        ) {
          issues.add(
            "SCHEMA_VALIDATION_FAILED",
            "JitterStrategy must be FULL or NONE",
            `${at}/JitterStrategy`,
          );
        }
      }
      if (handler.ResultPath !== undefined && handler.ResultPath !== null)
        checkPath(handler.ResultPath, `${at}/ResultPath`, issues, true);
    });
  }
}

function validateChoiceRule(
  rule: unknown,
  pointer: string,
  language: QueryLanguage,
  issues: Issues,
  topLevel: boolean,
  checkTarget: (target: unknown, at: string) => void,
): void {
  if (!isObject(rule)) {
    issues.add("SCHEMA_VALIDATION_FAILED", "A Choice rule must be a JSON object", pointer);
    return;
  }
  if (topLevel) checkTarget(rule.Next, `${pointer}/Next`);
  else if (rule.Next !== undefined)
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "Nested Choice rules cannot have 'Next'",
      `${pointer}/Next`,
    );

  if (language === "JSONata") {
    if (rule.Condition === undefined)
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        "The field 'Condition' is required but was missing",
        pointer,
      );
    return;
  }
  if (Array.isArray(rule.And) || Array.isArray(rule.Or)) {
    const list = (rule.And ?? rule.Or) as unknown[];
    const field = rule.And ? "And" : "Or";
    list.forEach((inner, index) => {
      validateChoiceRule(
        inner,
        `${pointer}/${field}/${index}`,
        language,
        issues,
        false,
        checkTarget,
      );
    });
    return;
  }
  if (rule.Not !== undefined) {
    validateChoiceRule(rule.Not, `${pointer}/Not`, language, issues, false, checkTarget);
    return;
  }
  if (typeof rule.Variable !== "string") {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "The field 'Variable' is required but was missing",
      pointer,
    );
  } else checkPath(rule.Variable, `${pointer}/Variable`, issues, false);
  const operators = Object.keys(rule).filter((key) => CHOICE_OPERATORS.has(key));
  if (operators.length !== 1) {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "A Choice rule needs exactly one comparison operator",
      pointer,
    );
  } else if (operators[0].endsWith("Path")) {
    checkPath(rule[operators[0]], `${pointer}/${operators[0]}`, issues, false);
  }
}

function validatePaths(state: Record<string, unknown>, pointer: string, issues: Issues): void {
  for (const field of [
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
  ]) {
    const value = state[field];
    if (
      (field === "ErrorPath" || field === "CausePath") &&
      typeof value === "string" &&
      isIntrinsic(value)
    )
      continue;
    if (value !== undefined && value !== null)
      checkPath(value, `${pointer}/${field}`, issues, false);
  }
  if (state.ResultPath !== undefined && state.ResultPath !== null)
    checkPath(state.ResultPath, `${pointer}/ResultPath`, issues, true);
  for (const field of ["Parameters", "ResultSelector", "ItemSelector", "Assign"]) {
    if (state[field] !== undefined) checkTemplate(state[field], `${pointer}/${field}`, issues);
  }
}

function checkTemplate(template: unknown, pointer: string, issues: Issues): void {
  if (Array.isArray(template)) {
    template.forEach((item, index) => {
      checkTemplate(item, `${pointer}/${index}`, issues);
    });
    return;
  }
  if (!isObject(template)) return;
  for (const [key, value] of Object.entries(template)) {
    if (!key.endsWith(".$")) {
      checkTemplate(value, `${pointer}/${key}`, issues);
      continue;
    }
    if (typeof value !== "string") {
      issues.add(
        "SCHEMA_VALIDATION_FAILED",
        `The value of '${key}' must be a path or an intrinsic function`,
        `${pointer}/${key}`,
      );
    } else if (!isIntrinsic(value)) {
      checkPath(value, `${pointer}/${key}`, issues, false);
    }
  }
}

function checkPath(value: unknown, pointer: string, issues: Issues, referenceOnly: boolean): void {
  if (typeof value !== "string" || !value.startsWith("$")) {
    issues.add(
      "SCHEMA_VALIDATION_FAILED",
      "The value must be a JSONPath starting with '$'",
      pointer,
    );
    return;
  }
  const body = value.startsWith("$$")
    ? value.slice(1)
    : /^\$[A-Za-z_]/.test(value)
      ? `$${value.replace(/^\$[A-Za-z_][A-Za-z0-9_]*/, "")}`
      : value;
  try {
    const compiled = compilePath(body);
    if (referenceOnly && !compiled.names && compiled.segments.length > 0) {
      issues.add(
        "INVALID_RESULT_PATH",
        `The value for the field 'ResultPath' must be a valid reference path: ${value}`,
        pointer,
      );
    }
  } catch (error) {
    issues.add("INVALID_JSONPATH", (error as Error).message, pointer);
  }
}

function checkExclusive(
  state: Record<string, unknown>,
  pointer: string,
  issues: Issues,
  fields: string[],
  required: boolean,
): void {
  const present = fields.filter((field) => state[field] !== undefined);
  if (present.length > 1) {
    issues.add("SCHEMA_VALIDATION_FAILED", `Only one of ${fields.join(", ")} is allowed`, pointer);
  } else if (required && present.length === 0) {
    issues.add("SCHEMA_VALIDATION_FAILED", `One of ${fields.join(", ")} is required`, pointer);
  }
}

function findUnreachable(
  startAt: string,
  states: Record<string, Record<string, unknown>>,
): string[] {
  const reached = new Set<string>();
  const pending = [startAt];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (reached.has(name) || !states[name]) continue;
    reached.add(name);
    const state = states[name];
    if (typeof state.Next === "string") pending.push(state.Next);
    if (typeof state.Default === "string") pending.push(state.Default);
    for (const rule of (state.Choices as { Next?: string }[] | undefined) ?? [])
      if (rule?.Next) pending.push(rule.Next);
    for (const catcher of (state.Catch as { Next?: string }[] | undefined) ?? [])
      if (catcher?.Next) pending.push(catcher.Next);
  }
  return Object.keys(states).filter((name) => !reached.has(name));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}
