import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { routeUrl } from "./service-routing.ts";

/**
 * Creates the edge server: one Fastify instance whose URLs are rewritten to
 * the prefix of the service a request is for, so each AWS API is a plugin
 * registered under its own prefix (see SERVICE_PREFIX).
 */
export function createEdgeServer(options: { logger: Logger; bodyLimit?: number }): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    // Invoke payloads are capped at 6 MB by the Lambda plugin itself, and S3
    // bodies are streamed, so the global limit only guards buffered parsers.
    bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024,
    rewriteUrl: (request) => routeUrl(request.url ?? "/", request.headers),
    // Per-request lines would flood the log at replay rates; errors are logged where handled.
    logController: new LogController({ disableRequestLogging: true }),
    // S3 keys may contain `//`, `;` and other characters a router would trim.
    routerOptions: { ignoreDuplicateSlashes: false, ignoreTrailingSlash: false },
  });
  return app as unknown as FastifyInstance;
}
