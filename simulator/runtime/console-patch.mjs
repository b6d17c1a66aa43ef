// @ts-check
/**
 * Replaces `console.*` so every line carries a timestamp, the request id and
 * a level, as Lambda's Node.js runtime writes them:
 * `2019-06-07T19:11:20.562Z\tc793869b-...\tINFO\tmessage` in the TEXT format,
 * or one JSON object per call when AWS_LAMBDA_LOG_FORMAT is JSON.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html
 *
 * Every line goes to stdout, as AWS's runtime writes when it has no telemetry
 * descriptor. A message's own newlines become carriage returns, so one console
 * call stays one log event.
 */
import { format } from "node:util";
import { intoError, toLoggedError } from "./errors.mjs";

/** Global slot other libraries (Powertools, X-Ray) read the current request id from. */
const REQUEST_ID = Symbol.for("aws.lambda.runtime.requestId");

/**
 * @typedef {{ name: string, priority: number }} Level
 * @typedef {(level: Level, message: unknown, params: unknown[]) => void} LineWriter
 */

/** @type {Record<string, Level>} */
const LEVELS = {
  TRACE: { name: "TRACE", priority: 1 },
  DEBUG: { name: "DEBUG", priority: 2 },
  INFO: { name: "INFO", priority: 3 },
  WARN: { name: "WARN", priority: 4 },
  ERROR: { name: "ERROR", priority: 5 },
  FATAL: { name: "FATAL", priority: 6 },
};

let jsonFormat = false;

/**
 * Sets the request id that prefixes later lines.
 * @param {string | undefined} requestId
 */
export function setRequestId(requestId) {
  /** @type {Record<symbol, unknown>} */ (globalThis)[REQUEST_ID] = requestId;
}

/** Patches the global console from AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL. */
export function patchConsole() {
  jsonFormat = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";
  const write = jsonFormat ? writeJsonLine : writeTextLine;
  const minimum = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase() ?? ""] ?? LEVELS.TRACE;

  /** @param {Level} level */
  const method = (level) =>
    level.priority >= minimum.priority
      ? /** @type {(message?: unknown, ...params: unknown[]) => void} */ (message, ...params) =>
          write(level, message, params)
      : () => {};

  const target = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (console));
  target.trace = method(LEVELS.TRACE);
  target.debug = method(LEVELS.DEBUG);
  target.info = method(LEVELS.INFO);
  target.log = target.info;
  target.warn = method(LEVELS.WARN);
  target.error = method(LEVELS.ERROR);
  target.fatal = method(LEVELS.FATAL);
}

/**
 * Logs an error at ERROR level with a fixed label (`Invoke Error`,
 * `Uncaught Exception`, `Unhandled Promise Rejection`).
 * @param {string} label
 * @param {unknown} error
 */
export function logError(label, error) {
  if (jsonFormat) {
    console.error(intoError(error));
    return;
  }
  console.error(label, toLoggedError(intoError(error)));
}

/** @type {LineWriter} */
function writeTextLine(level, message, params) {
  const requestId = /** @type {Record<symbol, unknown>} */ (globalThis)[REQUEST_ID];
  const text = format(message, ...params);
  const line = `${new Date().toISOString()}\t${requestId}\t${level.name}\t${text}`;
  process.stdout.write(`${line.replace(/\n/g, "\r")}\n`);
}

/** @type {LineWriter} */
function writeJsonLine(level, message, params) {
  const requestId = /** @type {Record<symbol, unknown>} */ (globalThis)[REQUEST_ID];
  /** @type {Record<string, unknown>} */
  const entry = { timestamp: new Date().toISOString(), level: level.name, requestId };
  let line;
  if (params.length === 0) {
    entry.message = message;
    try {
      line = JSON.stringify(entry, (_key, value) => errorFields(value));
    } catch {
      entry.message = format(message);
      line = JSON.stringify(entry);
    }
  } else {
    entry.message = format(message, ...params);
    const error = [message, ...params].find((param) => param instanceof Error);
    if (error instanceof Error) {
      entry.errorType = error.constructor?.name ?? "UnknownError";
      entry.errorMessage = error.message;
      entry.stackTrace = typeof error.stack === "string" ? error.stack.split("\n") : [];
    }
    line = JSON.stringify(entry);
  }
  process.stdout.write(`${line.replace(/\n/g, "\r")}\n`);
}

/** @param {unknown} value */
function errorFields(value) {
  if (!(value instanceof Error)) return value;
  return {
    errorType: value.constructor?.name ?? "UnknownError",
    errorMessage: value.message,
    stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
    ...value,
  };
}
