// @ts-check
/**
 * Warmstate's Node.js runtime client, started inside a sandbox as
 * `node simulator/runtime/index.mjs` with Lambda's environment variables
 * (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_*).
 * Plain JavaScript with node: built-ins only, because the sandbox may be a
 * container that has nothing but node.
 *
 * Init: patch the console, load the handler, then poll the Runtime API. A
 * failure while loading is posted to `/runtime/init/error` under the error's
 * name (Runtime.ImportModuleError, Runtime.HandlerNotFound, or whatever the
 * module threw) and the process exits, as Lambda's Node.js runtime does.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
import process from "node:process";
import { logError, patchConsole } from "./console-patch.mjs";
import { ImportModuleError, toErrorBody, UnhandledPromiseRejection } from "./errors.mjs";
import { defineAwsLambdaGlobal, loadHandler } from "./handler-loader.mjs";
import {
  installBeforeExitListener,
  startInvokeLoop,
  UNCAUGHT_EXCEPTION_EXIT_CODE,
  UNHANDLED_REJECTION_EXIT_CODE,
} from "./invoke-loop.mjs";
import { RuntimeApiClient } from "./runtime-api-client.mjs";

const endpoint = process.env.AWS_LAMBDA_RUNTIME_API;
if (!endpoint) {
  process.stderr.write(
    "AWS_LAMBDA_RUNTIME_API is not set; start the runtime with the Runtime API's host:port in it.\n",
  );
  process.exit(1);
}

patchConsole();
const client = new RuntimeApiClient(endpoint);

// Until the first event, a crash is an init error; the invoke loop replaces
// these callbacks so later crashes are posted for the current request.
/** @type {import("./invoke-loop.mjs").ErrorCallbacks} */
const errorCallbacks = {
  uncaughtException: (error) => exitAfterInitError(error, UNCAUGHT_EXCEPTION_EXIT_CODE),
  unhandledRejection: (error) => exitAfterInitError(error, UNHANDLED_REJECTION_EXIT_CODE),
};

process.on("uncaughtException", (error) => {
  logError("Uncaught Exception", error);
  errorCallbacks.uncaughtException(error);
});
process.on("unhandledRejection", (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError("Unhandled Promise Rejection", error);
  errorCallbacks.unhandledRejection(error);
});
installBeforeExitListener();

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
// Handlers read files relative to the task root, which is the working
// directory on Lambda.
/** @type {unknown} */
let chdirError;
try {
  process.chdir(taskRoot);
} catch (error) {
  chdirError = error;
  process.stderr.write(`Cannot change to LAMBDA_TASK_ROOT ${taskRoot}: ${String(error)}\n`);
}

defineAwsLambdaGlobal();
let handler;
try {
  handler = await loadHandler(taskRoot, process.env._HANDLER ?? "");
} catch (error) {
  // An unreadable task root makes the module look missing: name the real cause.
  if (chdirError && error instanceof ImportModuleError) {
    error.message += ` The runtime cannot enter LAMBDA_TASK_ROOT ${taskRoot} (${String(chdirError)}): give the sandbox's user read and execute permission on it.`;
  }
  logError("Uncaught Exception", error);
  errorCallbacks.uncaughtException(error);
}
if (handler) startInvokeLoop(client, handler, errorCallbacks);

/**
 * @param {unknown} error
 * @param {number} exitCode
 */
function exitAfterInitError(error, exitCode) {
  client.postInitError(toErrorBody(error)).then(
    () => process.exit(exitCode),
    () => process.exit(exitCode),
  );
}
