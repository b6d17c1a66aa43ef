// @ts-check
/**
 * Errors the runtime raises on behalf of the function, named as AWS's
 * Node.js runtime names them (`Runtime.HandlerNotFound`, ...), and the
 * serialisation of any thrown value into the body the Runtime API expects.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html
 */
import { types } from "node:util";

/** The `_HANDLER` value has no `module.export` form, or climbs out of the task root. */
export class MalformedHandlerName extends Error {}
MalformedHandlerName.prototype.name = "Runtime.MalformedHandlerName";

/** The module loaded but the named export is missing or not a function. */
export class HandlerNotFound extends Error {}
HandlerNotFound.prototype.name = "Runtime.HandlerNotFound";

/** The handler module, or a module it requires, cannot be found. */
export class ImportModuleError extends Error {
  /** @param {unknown} cause */
  constructor(cause) {
    super(String(cause));
  }
}
ImportModuleError.prototype.name = "Runtime.ImportModuleError";

/** The handler module does not parse. */
export class UserCodeSyntaxError extends Error {
  /** @param {Error} cause */
  constructor(cause) {
    super(String(cause));
    if (cause.stack) this.stack = cause.stack;
  }
}
UserCodeSyntaxError.prototype.name = "Runtime.UserCodeSyntaxError";

/** A promise was rejected and nothing handled it; the runtime reports it and exits. */
export class UnhandledPromiseRejection extends Error {
  /**
   * @param {unknown} reason
   * @param {Promise<unknown>} promise
   */
  constructor(reason, promise) {
    super(String(reason));
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = "Runtime.UnhandledPromiseRejection";

/**
 * The event loop emptied while an async handler's promise was still pending.
 * NOTE: the name is AWS's; the message is ours, AWS's exact wording is unverified.
 */
export class NodeJsExit extends Error {
  constructor() {
    super(
      "The event loop emptied before the async handler's promise settled; a Promise that never resolves or rejects ends the invocation.",
    );
  }
}
NodeJsExit.prototype.name = "Runtime.NodeJsExit";

/**
 * The body the runtime posts to `/error` and `/init/error`.
 * @typedef {{ errorType: string, errorMessage: string, trace?: string[] }} ErrorBody
 */

/**
 * Serialises anything a handler threw or passed to its callback. Errors give
 * their name, message and stack lines; other values give their `typeof` and
 * string form, as AWS's runtime does (`callback("boom")` reports
 * `{"errorType":"string","errorMessage":"boom"}`).
 * @param {unknown} error
 * @returns {ErrorBody}
 */
export function toErrorBody(error) {
  try {
    if (types.isNativeError(error) || isErrorLike(error)) {
      const { name, message, stack } = /** @type {Error} */ (error);
      return { errorType: name, errorMessage: message, trace: String(stack).split("\n") };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage:
        "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack",
    };
  }
}

/**
 * Formats an error for the `Invoke Error` and `Uncaught Exception` log lines:
 * a tab, then JSON with errorType, errorMessage, the error's own fields and
 * the stack as an array of lines.
 * @param {unknown} error
 */
export function toLoggedError(error) {
  try {
    return `\t${JSON.stringify(error, (_key, value) => withErrorFields(value))}`;
  } catch {
    return `\t${JSON.stringify(toErrorBody(error))}`;
  }
}

/**
 * Wraps a value that is not an Error, as `callback("text")` passes.
 * @param {unknown} value
 * @returns {Error}
 */
export function intoError(value) {
  return value instanceof Error ? value : new Error(String(value));
}

/** @param {unknown} value */
function withErrorFields(value) {
  if (!(value instanceof Error)) return value;
  /** @type {Record<string, unknown>} */
  const fields = {
    errorType: value.name,
    errorMessage: value.message,
    code: /** @type {{ code?: unknown }} */ (value).code,
    ...value,
  };
  if (typeof value.stack === "string") fields.stack = value.stack.split("\n");
  return fields;
}

/** @param {unknown} value */
function isErrorLike(value) {
  if (value === null || typeof value !== "object") return false;
  const candidate = /** @type {Record<string, unknown>} */ (value);
  return (
    typeof candidate.name === "string" &&
    candidate.name !== "" &&
    typeof candidate.message === "string" &&
    candidate.message !== "" &&
    typeof candidate.stack === "string" &&
    candidate.stack !== ""
  );
}
