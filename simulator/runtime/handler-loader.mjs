// @ts-check
/**
 * Resolves `_HANDLER` to a function the way Lambda's Node.js runtime does.
 * `src/api/index.routes.get` means: module `src/api/index` under the task
 * root, export `routes`, property `get`. The module file is tried as
 * extensionless, `.js` (CommonJS or ES module by the nearest package.json
 * "type"), `.mjs`, `.cjs`, then as a package name through require.resolve.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  HandlerNotFound,
  ImportModuleError,
  MalformedHandlerName,
  UserCodeSyntaxError,
} from "./errors.mjs";

const require = createRequire(import.meta.url);

/**
 * @typedef {(event: unknown, context: object, callback: (error?: unknown, result?: unknown) => void) => unknown} Handler
 */

/**
 * Loads the module and returns the handler function.
 * @param {string} taskRoot LAMBDA_TASK_ROOT
 * @param {string} handlerName _HANDLER
 * @returns {Promise<Handler>}
 */
export async function loadHandler(taskRoot, handlerName) {
  if (handlerName.includes("..")) {
    throw new MalformedHandlerName(
      `'${handlerName}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }

  const fileAndPath = path.basename(handlerName);
  const moduleRoot = handlerName.slice(0, handlerName.length - fileAndPath.length);
  const dot = fileAndPath.indexOf(".");
  if (dot === -1) throw new MalformedHandlerName("Bad handler");
  const moduleName = fileAndPath.slice(0, dot);
  const exportPath = fileAndPath.slice(dot + 1);

  const loaded = await loadModule(taskRoot, moduleRoot, moduleName);
  const handler = exportPath
    .split(".")
    .reduce(
      (/** @type {any} */ value, key) =>
        value === undefined || value === null ? undefined : value[key],
      loaded,
    );
  if (!handler) throw new HandlerNotFound(`${handlerName} is undefined or not exported`);
  if (typeof handler !== "function") throw new HandlerNotFound(`${handlerName} is not a function`);
  if (handler[STREAMING] !== undefined) {
    // TODO(runtime): run response-streaming handlers; Lambda buffers their stream for a RequestResponse Invoke.
    throw new Error(
      `${handlerName} is wrapped in awslambda.streamifyResponse, and response streaming is not supported by this runtime yet; export a handler that returns its response.`,
    );
  }
  return handler;
}

/** Marker that `awslambda.streamifyResponse` puts on a response-streaming handler. */
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");

/**
 * Defines the `awslambda` global that Lambda's Node.js runtime provides, so
 * modules that call `awslambda.streamifyResponse` at import load. Setting
 * AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA to 1 or true leaves it out, as on Lambda.
 */
export function defineAwsLambdaGlobal() {
  const optOut = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === "1" || optOut === "true") return;

  /** @type {Record<string, unknown>} */ (globalThis).awslambda = {
    /** @param {Record<symbol, unknown>} streamingHandler */
    streamifyResponse: (streamingHandler) => {
      streamingHandler[STREAMING] = "response";
      return streamingHandler;
    },
  };
}

/**
 * True for `async function` handlers, whose pending promise at an empty
 * event loop is an error rather than a null response.
 * @param {Function} handler
 */
export function isAsyncFunction(handler) {
  return handler.constructor?.name === "AsyncFunction";
}

/**
 * @param {string} taskRoot
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @returns {Promise<unknown>}
 */
async function loadModule(taskRoot, moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  try {
    if (existsSync(base)) return require(base);

    const typeModule = nearestPackageIsModule(path.dirname(base));
    if (!typeModule && existsSync(`${base}.js`)) return require(`${base}.js`);
    if (typeModule && existsSync(`${base}.js`))
      return await import(pathToFileURL(`${base}.js`).href);
    if (existsSync(`${base}.mjs`)) return await import(pathToFileURL(`${base}.mjs`).href);
    if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`);

    // A package name, resolved from the task root and the handler's folder.
    const resolved = require.resolve(moduleName, {
      paths: [taskRoot, path.resolve(taskRoot, moduleRoot)],
    });
    return require(resolved);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    const code = /** @type {{ code?: unknown }} */ (error)?.code;
    if (code === "MODULE_NOT_FOUND") throw new ImportModuleError(error);
    throw error;
  }
}

/**
 * Reads "type" from the nearest package.json above `folder`, stopping at a
 * node_modules folder or the filesystem root, as Node's own resolution does.
 * @param {string} folder
 * @returns {boolean}
 */
function nearestPackageIsModule(folder) {
  for (let current = folder; ; current = path.dirname(current)) {
    if (current.endsWith(`${path.sep}node_modules`)) return false;

    const manifest = path.join(current, "package.json");
    if (existsSync(manifest)) {
      try {
        return JSON.parse(readFileSync(manifest, "utf8"))?.type === "module";
      } catch (error) {
        console.warn(
          `${manifest} cannot be read, it will be ignored for ES module detection purposes.`,
          error,
        );
        return false;
      }
    }

    if (current === path.dirname(current)) return false;
  }
}
