import { randomUUID } from "node:crypto";
import type { FastifyError, FastifyPluginAsync } from "fastify";
import { AsyncInvocationQueue } from "../async/async-invocation-queue.ts";
import { InvalidRequestContentException, LambdaError, ServiceException } from "../errors.ts";
import { registerFunctionRoutes } from "./function-routes.ts";
import { registerInvokeRoute, SYNC_PAYLOAD_LIMIT_BYTES } from "./invoke-route.ts";
import type { LambdaServiceLike } from "./service-like.ts";
import { registerVersionRoutes } from "./version-routes.ts";
import {
  RequestEntityTooLargeException,
  sendLambdaError,
  UnknownOperationException,
} from "./wire.ts";

export type { LambdaServiceLike } from "./service-like.ts";

/** Options of {@link lambdaApiPlugin}. */
export interface LambdaApiOptions {
  service: LambdaServiceLike;
  /** Queue for Event invocations; the plugin creates one (and closes it) when omitted. */
  asyncQueue?: AsyncInvocationQueue;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Request id sent back in x-amzn-RequestId. */
    lambdaRequestId?: string;
  }
}

// Function code in CreateFunction is base64 inside JSON: 50 MB of zip is
// about 67 MB encoded. Invoke bodies are checked against 6 MB by the route.
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const CONTROL_BODY_LIMIT = 70 * 1024 * 1024;

/**
 * Lambda's REST-JSON control API (the 2015-03-31 family of paths that the SDK
 * and CLI call), registered under SERVICE_PREFIX.lambda. Any access key is
 * accepted and signatures are not checked.
 */
export const lambdaApiPlugin: FastifyPluginAsync<LambdaApiOptions> = async (app, options) => {
  const service = options.service;
  const ownsQueue = !options.asyncQueue;
  const queue = options.asyncQueue ?? new AsyncInvocationQueue({ service });

  // Bodies stay raw: Invoke payloads are bytes, and JSON bodies are parsed by
  // each route so malformed JSON gets Lambda's error, not Fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "*",
    { parseAs: "buffer", bodyLimit: CONTROL_BODY_LIMIT },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.addHook("onRequest", async (request, reply) => {
    request.lambdaRequestId = randomUUID();
    reply.header("x-amzn-RequestId", request.lambdaRequestId);
  });

  app.setErrorHandler((error: FastifyError | LambdaError, request, reply) => {
    if (error instanceof LambdaError) return sendLambdaError(reply, error);

    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      const invoke = request.url.endsWith("/invocations") || request.url.includes("/invocations?");
      const message = invoke
        ? `Request must be smaller than ${SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`
        : `Request must be smaller than ${CONTROL_BODY_LIMIT} bytes.`;
      return sendLambdaError(reply, new RequestEntityTooLargeException(message));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendLambdaError(
        reply,
        new InvalidRequestContentException(`Could not read the request: ${error.message}`),
      );
    }
    request.log.error({ err: error, url: request.url }, "lambda API request failed");
    return sendLambdaError(
      reply,
      new ServiceException(`The simulator failed to handle the request: ${error.message}`, error),
    );
  });

  app.setNotFoundHandler((request, reply) => {
    sendLambdaError(reply, new UnknownOperationException(request.method, request.url));
  });

  registerFunctionRoutes(app, service);
  registerVersionRoutes(app, service);
  registerInvokeRoute(app, service, queue);

  app.addHook("onClose", async () => {
    if (ownsQueue) queue.close();
  });
};
