// @ts-check
/**
 * The invoke loop of the Node.js runtime: take the next event, call the
 * handler, post its result or error, repeat. It keeps the programming model
 * of Lambda's Node.js runtime:
 * - the response of an async handler (or one returning a promise) is posted
 *   as soon as the promise settles, whatever is left on the event loop;
 * - the result of a callback handler is posted when the event loop empties,
 *   unless the handler set `context.callbackWaitsForEmptyEventLoop = false`;
 * - a non-async handler that never calls back gets a null response once the
 *   event loop empties, and an async one whose promise never settles fails
 *   with Runtime.NodeJsExit;
 * - an uncaught exception or unhandled rejection is posted as the
 *   invocation's error, then the process exits (129 and 128).
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html
 */
import { logError, setRequestId } from "./console-patch.mjs";
import { NodeJsExit, toErrorBody } from "./errors.mjs";
import { isAsyncFunction } from "./handler-loader.mjs";

/**
 * @typedef {import("./runtime-api-client.mjs").RuntimeApiClient} RuntimeApiClient
 * @typedef {import("./handler-loader.mjs").Handler} Handler
 * @typedef {Record<string, string | undefined>} ResponseHeaders lowercase names
 * @typedef {{ uncaughtException: (error: unknown) => void, unhandledRejection: (error: unknown) => void }} ErrorCallbacks
 */

/** Exit codes of AWS's runtime after reporting an uncaught exception or unhandled rejection. */
export const UNCAUGHT_EXCEPTION_EXIT_CODE = 129;
export const UNHANDLED_REJECTION_EXIT_CODE = 128;

/** Listener run when the event loop empties, replaced for every invocation. */
let beforeExitListener = () => {};

/** Registers the one `beforeExit` listener that delegates to the current invocation's. */
export function installBeforeExitListener() {
  process.on("beforeExit", () => {
    const listener = beforeExitListener;
    beforeExitListener = () => {};
    listener();
  });
}

/**
 * Starts taking events.
 * @param {RuntimeApiClient} client
 * @param {Handler} handler
 * @param {ErrorCallbacks} errorCallbacks replaced per invocation so crashes are posted for the right request
 */
export function startInvokeLoop(client, handler, errorCallbacks) {
  const handlerIsAsync = isAsyncFunction(handler);

  const scheduleNext = () => {
    setImmediate(() => {
      handleOne().catch((error) => {
        console.log(`Unexpected Top Level Error: ${String(error)}`);
        errorCallbacks.uncaughtException(error);
      });
    });
  };

  const handleOne = async () => {
    const { body, headers } = await client.next();
    const requestId = String(headers["lambda-runtime-aws-request-id"] ?? "");
    setRequestId(requestId);
    forwardTraceId(headers["lambda-runtime-trace-id"]);

    const { callback, context, markCompleted } = buildCallbackContext(
      client,
      requestId,
      scheduleNext,
    );
    try {
      errorCallbacks.uncaughtException = (error) =>
        exitAfter(client.postError(requestId, toErrorBody(error)), UNCAUGHT_EXCEPTION_EXIT_CODE);
      errorCallbacks.unhandledRejection = (error) =>
        exitAfter(client.postError(requestId, toErrorBody(error)), UNHANDLED_REJECTION_EXIT_CODE);
      beforeExitListener = () => {
        markCompleted();
        if (handlerIsAsync) {
          const error = new NodeJsExit();
          logError("Invoke Error", error);
          client.postError(requestId, toErrorBody(error)).then(scheduleNext, exitOnApiFailure);
        } else {
          client.postResponse(requestId, "null").then(scheduleNext, exitOnApiFailure);
        }
      };

      const event = JSON.parse(body);
      Object.assign(context, environmentData(), headerData(headers));
      const result = handler(event, context, callback);
      if (isPromise(result)) {
        Promise.resolve(result).then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (error) {
      callback(error);
    }
  };

  scheduleNext();
}

/**
 * Builds the handler's callback and the callback part of the context
 * (`done`, `succeed`, `fail`, `callbackWaitsForEmptyEventLoop`). Only the first
 * call of any of them counts.
 * @param {RuntimeApiClient} client
 * @param {string} requestId
 * @param {() => void} scheduleNext
 */
function buildCallbackContext(client, requestId, scheduleNext) {
  let waitsForEmptyEventLoop = true;
  let completed = false;
  let finished = false;

  /** @param {unknown} error */
  const postError = (error) => {
    logError("Invoke Error", error);
    client.postError(requestId, toErrorBody(error)).then(scheduleNext, exitOnApiFailure);
  };

  /** @param {unknown} result */
  const complete = (result) => {
    if (completed) {
      console.error(
        "Invocation has already been reported as done. Cannot call complete more than once per invocation.",
      );
      return;
    }
    completed = true;
    client.postResponse(requestId, serialize(result)).then(scheduleNext, exitOnApiFailure);
  };

  /**
   * @param {unknown} error
   * @param {unknown} [result]
   */
  const rawCallback = (error, result) => {
    beforeExitListener = () => {};
    if (error !== undefined && error !== null) {
      postError(error);
    } else if (!waitsForEmptyEventLoop) {
      complete(result);
    } else {
      beforeExitListener = () => setImmediate(() => complete(result));
    }
  };

  /**
   * @param {unknown} error
   * @param {unknown} [result]
   */
  const rawDone = (error, result) => {
    beforeExitListener = () => {};
    if (error !== undefined && error !== null) postError(error);
    else complete(result);
  };

  /**
   * @template {unknown[]} A
   * @param {(...args: A) => void} fn
   * @returns {(...args: A) => void}
   */
  const firstCallOnly =
    (fn) =>
    (...args) => {
      if (finished) return;
      fn(...args);
      finished = true;
    };

  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitsForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitsForEmptyEventLoop = value;
    },
    done: firstCallOnly(rawDone),
    succeed: firstCallOnly((/** @type {unknown} */ result) => rawDone(null, result)),
    fail: firstCallOnly((/** @type {unknown} */ error) => rawDone(error ?? "handled", null)),
  };

  return {
    callback: firstCallOnly(rawCallback),
    context,
    markCompleted: () => {
      completed = true;
    },
  };
}

/** Fields of the context that come from the function's configuration. */
function environmentData() {
  return {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    // A string, as on Lambda.
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
}

/**
 * Fields of the context that come from the `next` response headers.
 * @param {ResponseHeaders} headers
 */
function headerData(headers) {
  const deadlineMs = Number(headers["lambda-runtime-deadline-ms"]);
  return {
    clientContext: parseJsonHeader(headers["lambda-runtime-client-context"], "ClientContext"),
    identity: parseJsonHeader(headers["lambda-runtime-cognito-identity"], "CognitoIdentity"),
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    getRemainingTimeInMillis: () => deadlineMs - Date.now(),
  };
}

/**
 * @param {string | string[] | undefined} value
 * @param {string} name
 */
function parseJsonHeader(value, name) {
  if (typeof value !== "string") return undefined;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${String(error)}`);
  }
}

/**
 * X-Ray SDKs read the trace header from the environment.
 * @param {string | string[] | undefined} traceId
 */
function forwardTraceId(traceId) {
  if (typeof traceId === "string" && traceId !== "") process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
}

/** @param {unknown} result */
function serialize(result) {
  try {
    return JSON.stringify(result === undefined ? null : result);
  } catch {
    throw new Error("Unable to stringify response body");
  }
}

/**
 * @param {unknown} value
 * @returns {value is PromiseLike<unknown>}
 */
function isPromise(value) {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (/** @type {{ then?: unknown }} */ (value).then) === "function"
  );
}

/**
 * @param {Promise<unknown>} post
 * @param {number} exitCode
 */
function exitAfter(post, exitCode) {
  post.then(
    () => process.exit(exitCode),
    () => process.exit(exitCode),
  );
}

/**
 * Exits with status 1, because a Runtime API that is gone or broken leaves
 * nothing to report to.
 * @param {unknown} error
 */
function exitOnApiFailure(error) {
  process.stderr.write(`Runtime API request failed, exiting: ${String(error)}\n`);
  process.exit(1);
}
