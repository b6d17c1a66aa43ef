import { z } from "zod";
import { InvalidParameterValueException } from "./errors.ts";
import { allowedValueMessage, isMissing } from "./issue-messages.ts";

/**
 * Function configuration as the simulator stores it, validated against
 * Lambda's documented ranges.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */

/** Runtimes the simulator runs. Node.js runtimes run on that Node.js major where installed. */
export const SUPPORTED_RUNTIMES = [
  "nodejs20.x",
  "nodejs22.x",
  "nodejs24.x",
  "provided.al2023",
  "provided.al2",
] as const;
export type Runtime = (typeof SUPPORTED_RUNTIMES)[number];

/** Memory: 128 to 10,240 MB in 1-MB steps, default 128. */
export const MEMORY_MIN_MB = 128;
export const MEMORY_MAX_MB = 10_240;
/** Timeout: 1 to 900 seconds, default 3. */
export const TIMEOUT_MAX_SECONDS = 900;
/** Ephemeral storage (/tmp): 512 to 10,240 MB, default 512. */
export const EPHEMERAL_MIN_MB = 512;
export const EPHEMERAL_MAX_MB = 10_240;
/** All environment variables together: at most 4 KB. */
export const ENVIRONMENT_MAX_BYTES = 4 * 1024;

/** Allowed values of the numeric settings, worded for validation errors. */
export const ALLOWED_VALUES = {
  memorySize: `must be a whole number of MB from ${MEMORY_MIN_MB} to ${MEMORY_MAX_MB}`,
  timeout: `must be a whole number of seconds from 1 to ${TIMEOUT_MAX_SECONDS}`,
  ephemeralStorageSize: `must be a whole number of MB from ${EPHEMERAL_MIN_MB} to ${EPHEMERAL_MAX_MB}`,
} as const;

/**
 * Message for a missing Handler. CreateFunction lets Image functions omit
 * it, but a function with the Zip package type must specify one, and
 * InvalidParameterValueException is the API's error for an invalid
 * parameter. NOTE: AWS does not document the exact message it sends.
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
 */
export const HANDLER_REQUIRED =
  "a function with the Zip package type needs a handler, such as index.handler for the export handler of index.js or index.mjs";
/** Lambda's execution environments get 1,024 file descriptors and 1,024 processes/threads. */
export const DEFAULT_NOFILE = 1024;
export const DEFAULT_NPROC = 1024;

/**
 * Settings of the simulator itself, per function. AWS publishes none of
 * these numbers: the defaults are estimates of observed behaviour.
 */
export const simulatorSettingsSchema = z.object({
  /** Seconds an idle environment stays warm before it is reclaimed. */
  keepAliveSeconds: z.number().int().min(1).max(86_400).default(600),
  /** Seconds after which an environment is recycled even when busy traffic keeps it warm. */
  maxLifetimeSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(7_200),
  /** Freeze the sandbox between invocations, as Lambda does. */
  freeze: z.boolean().default(true),
});
export type SimulatorSettings = z.infer<typeof simulatorSettingsSchema>;

// Lambda's reserved variable names cannot be set by the user.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
const RESERVED_ENV_KEYS = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
]);

export const functionConfigSchema = z
  .object({
    functionName: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1 to 64 letters, digits, hyphens or underscores"),
    runtime: z.enum(SUPPORTED_RUNTIMES, {
      error: `must be one of ${SUPPORTED_RUNTIMES.join(", ")}. Warmstate runs Node.js functions and custom runtimes (a bootstrap file) only`,
    }),
    /** `file.export` for Node.js; free-form for custom runtimes. */
    handler: z
      .string({ error: (issue) => (issue.input === undefined ? HANDLER_REQUIRED : undefined) })
      .max(128)
      .regex(/^[^\s]+$/, "must not contain whitespace"),
    /** Absolute path of the unpacked code (what becomes /var/task). */
    codeDir: z.string().min(1),
    memorySize: z
      .number({ error: ALLOWED_VALUES.memorySize })
      .int(ALLOWED_VALUES.memorySize)
      .min(MEMORY_MIN_MB, `must be from ${MEMORY_MIN_MB} to ${MEMORY_MAX_MB} MB`)
      .max(MEMORY_MAX_MB, `must be from ${MEMORY_MIN_MB} to ${MEMORY_MAX_MB} MB`)
      .default(128),
    timeout: z
      .number({ error: ALLOWED_VALUES.timeout })
      .int(ALLOWED_VALUES.timeout)
      .min(1, `must be from 1 to ${TIMEOUT_MAX_SECONDS} seconds`)
      .max(TIMEOUT_MAX_SECONDS, `must be from 1 to ${TIMEOUT_MAX_SECONDS} seconds`)
      .default(3),
    ephemeralStorageSize: z
      .number({ error: ALLOWED_VALUES.ephemeralStorageSize })
      .int(ALLOWED_VALUES.ephemeralStorageSize)
      .min(EPHEMERAL_MIN_MB, `must be from ${EPHEMERAL_MIN_MB} to ${EPHEMERAL_MAX_MB} MB`)
      .max(EPHEMERAL_MAX_MB, `must be from ${EPHEMERAL_MIN_MB} to ${EPHEMERAL_MAX_MB} MB`)
      .default(512),
    environment: z
      .record(
        z
          .string()
          .regex(
            /^[a-zA-Z]\w*$/,
            "must start with a letter and contain only letters, digits and underscores",
          ),
        z.string(),
      )
      .default({})
      .refine((vars) => Object.keys(vars).every((key) => !RESERVED_ENV_KEYS.has(key)), {
        message: `must not set a reserved name (${[...RESERVED_ENV_KEYS].join(", ")})`,
      })
      .refine((vars) => environmentBytes(vars) <= ENVIRONMENT_MAX_BYTES, {
        error: (issue) =>
          `keys and values must total at most ${ENVIRONMENT_MAX_BYTES} bytes, but they total ${environmentBytes(issue.input as Record<string, string>)} bytes`,
      }),
    description: z.string().max(256).default(""),
    /** Reserved concurrency; undefined means the function shares the account's unreserved pool. */
    reservedConcurrency: z.number().int().min(0).optional(),
    simulator: simulatorSettingsSchema.default({
      keepAliveSeconds: 600,
      maxLifetimeSeconds: 7_200,
      freeze: true,
    }),
  })
  .strict();

/** Input of {@link parseFunctionConfig}; defaults fill what is missing. */
export type FunctionConfigInput = z.input<typeof functionConfigSchema>;
/** A validated function configuration. */
export type FunctionConfig = z.infer<typeof functionConfigSchema>;

/** Size of environment variables as Lambda counts it: keys and values, UTF-8. */
export function environmentBytes(vars: Record<string, string>): number {
  let total = 0;
  for (const [key, value] of Object.entries(vars)) {
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  return total;
}

/**
 * Validates a configuration, throwing InvalidParameterValueException that
 * names the first invalid field and the allowed range.
 */
export function parseFunctionConfig(input: FunctionConfigInput): FunctionConfig {
  const result = functionConfigSchema.safeParse(input, { error: allowedValueMessage });
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const field = issue.path.join(".") || "configuration";
  if (issue.path.length > 0 && isMissing(input, issue.path)) {
    throw new InvalidParameterValueException(`Missing value for ${field}: ${issue.message}.`);
  }
  throw new InvalidParameterValueException(
    `Invalid value for ${field}${receivedValue(input, issue.path)}: ${issue.message}.`,
  );
}

/**
 * Formats the value found at `path` in `input` for an error message, as
 * ` (received 20000)`, or nothing when it is missing or too long to quote.
 */
export function receivedValue(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return "";
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (value === undefined || (typeof value === "object" && value !== null)) return "";
  const text = JSON.stringify(value);
  return text.length <= 80 ? ` (received ${text})` : "";
}
