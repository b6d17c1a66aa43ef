/**
 * Wire details of AWS's Runtime API: paths, headers, status codes and error
 * bodies, shared by the server and its tests.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Every path of the Runtime API starts with its version. */
export const API_PREFIX = "/2018-06-01/runtime/";
export const NEXT_PATH = "/2018-06-01/runtime/invocation/next";
export const INVOCATION_PREFIX = "/2018-06-01/runtime/invocation/";
export const INIT_ERROR_PATH = "/2018-06-01/runtime/init/error";

/** Header carrying the error type on `/error` and `/init/error`. */
export const ERROR_TYPE_HEADER = "lambda-runtime-function-error-type";

/**
 * Error types of the Runtime API's own error bodies (`{errorMessage, errorType}`),
 * as AWS's runtime interface emulator names them.
 */
export type RuntimeApiErrorType =
  | "InvalidStateTransition"
  | "InvalidRequestID"
  | "RequestEntityTooLarge"
  | "InternalServerError"
  | "NotFound"
  | "MethodNotAllowed";

const JSON_HEADERS = { "Content-Type": "application/json" };

/** `{"status":"OK"}` is the body AWS sends with 202 Accepted. */
const ACCEPTED_BODY = Buffer.from('{"status":"OK"}');
const ACCEPTED_HEADERS = {
  "Content-Type": "application/json",
  "Content-Length": String(ACCEPTED_BODY.length),
};

/** Sends 202 Accepted. */
export function sendAccepted(response: ServerResponse): void {
  response.writeHead(202, ACCEPTED_HEADERS);
  response.end(ACCEPTED_BODY);
}

/** Sends an error status with the Runtime API's `{errorMessage, errorType}` body. */
export function sendError(
  response: ServerResponse,
  statusCode: number,
  errorType: RuntimeApiErrorType,
  errorMessage: string,
  options: { closeConnection?: boolean } = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ errorMessage, errorType });
  if (options.closeConnection) response.setHeader("Connection", "close");
  response.writeHead(statusCode, JSON_HEADERS);
  response.end(body);
}

/** A request body read up to a byte limit. */
export interface ReadBody {
  /** The body, or undefined when it was larger than the limit. */
  payload: Buffer | undefined;
  /** Bytes received, counted even past the limit. */
  bytes: number;
}

/**
 * Reads a request body, keeping at most `maxBytes`. A larger body is still
 * drained so the keep-alive connection stays usable for the next call.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBytes) chunks.push(chunk);
    });
    request.on("end", () => {
      if (bytes > maxBytes) {
        resolve({ payload: undefined, bytes });
        return;
      }
      const payload = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes);
      resolve({ payload, bytes });
    });
    request.on("error", reject);
  });
}

/**
 * Reads the error type header. AWS documents the header as optional and
 * accepts any string, recommending the `Category.Reason` form, so no value is
 * rejected here. An absent or blank header is undefined.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-invokeerror
 */
export function errorTypeHeader(request: IncomingMessage): string | undefined {
  const value = request.headers[ERROR_TYPE_HEADER];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

const PLATFORM_ERROR_TYPE = /^(Runtime|Function)\.[A-Z][a-zA-Z]+$/;

/**
 * Maps a runtime's error type header to the error type Lambda's platform
 * reports in INIT_REPORT and REPORT lines: `Runtime.*` and `Function.*` names
 * made of letters are kept, anything else becomes `Runtime.Unknown` (or
 * `Function.Unknown` when it starts with `Function.`). This is the rule of
 * AWS's runtime interface emulator (`GetValidRuntimeOrFunctionErrorType`); the
 * Invoke response still carries the runtime's own payload unchanged.
 */
export function platformErrorType(errorType: string | undefined): string {
  if (errorType !== undefined && PLATFORM_ERROR_TYPE.test(errorType)) return errorType;
  if (errorType?.startsWith("Function.")) return "Function.Unknown";
  return "Runtime.Unknown";
}
