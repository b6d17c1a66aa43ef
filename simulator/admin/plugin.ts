import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { LambdaServiceLike } from "../lambda/api/service-like.ts";
import type { AsyncInvocationQueue } from "../lambda/async/async-invocation-queue.ts";
import type { LogStore, StoredLogEvent } from "../lambda/logs/log-store.ts";
import { describeFunctions } from "./function-summary.ts";

/** Options of {@link adminPlugin}. */
export interface AdminOptions {
  service: LambdaServiceLike;
  logs?: LogStore;
  asyncQueue?: AsyncInvocationQueue;
}

type Query = Record<string, string | undefined>;

/** Maximum real-time seconds a `/logs` request with `wait` keeps the connection open. */
const MAX_LOG_WAIT_SECONDS = 30;

function functionExists(service: LambdaServiceLike, functionName: string): boolean {
  try {
    service.registry.resolve(functionName);
    return true;
  } catch {
    return false;
  }
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.status(404).send({ error: "NotFound", message });
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw Object.assign(new Error(`Invalid ${name} "${value}": expected a non-negative integer.`), {
      statusCode: 400,
    });
  }
  return parsed;
}

/**
 * Serves the simulator's own introspection API under `/_warmstate`, as plain JSON:
 *
 * - `GET /functions`: every function with its versions, aliases, settings and environment counts
 * - `GET /environments?function=NAME`: environments with status, age, invocation count and last probe
 * - `GET /invocations?function=NAME&limit=N`: invocation records, oldest first
 * - `GET /invocations/REQUEST_ID`: the record of one invocation (the last attempt for retried events)
 * - `GET /logs/FUNCTION?after=SEQ&stream=NAME&requestId=ID&filter=PATTERN&wait=SECONDS`:
 *   log lines after a cursor. With `wait`, the response waits until a line arrives
 * - `GET /logs/FUNCTION/streams`: log streams, one per environment
 * - `GET /async`: counters of the Event queue
 */
export const adminPlugin: FastifyPluginAsync<AdminOptions> = async (app, options) => {
  const { service, logs, asyncQueue } = options;

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, "admin API request failed");
    return reply.status(status).send({ error: error.name, message: error.message });
  });

  app.get("/health", async () => ({ status: "ok" }));

  app.get("/functions", async () => describeFunctions(service));

  app.get("/environments", async (request: FastifyRequest<{ Querystring: Query }>) => {
    const now = service.registry.clock.now();
    const status = request.query.status;
    return service
      .environments(request.query.function || undefined)
      .filter((environment) => !status || environment.status === status)
      .map((environment) => ({ ...environment, ageMs: now - environment.createdAt }));
  });

  app.get("/invocations", async (request: FastifyRequest<{ Querystring: Query }>) => {
    const limit = positiveInteger(request.query.limit, "limit", 1_000);
    const records = service.invocations(request.query.function || undefined);
    return records.slice(Math.max(0, records.length - limit));
  });

  app.get(
    "/invocations/:requestId",
    async (request: FastifyRequest<{ Params: { requestId: string } }>, reply) => {
      const records = service
        .invocations()
        .filter((record) => record.requestId === request.params.requestId);
      const record = records.at(-1);
      if (!record)
        return notFound(
          reply,
          `No invocation has request id ${request.params.requestId}. Check the x-amzn-RequestId of the response.`,
        );
      return { ...record, attempts: records.length };
    },
  );

  app.get("/async", async () => asyncQueue?.stats() ?? {});

  app.get(
    "/logs/:functionName/streams",
    async (request: FastifyRequest<{ Params: { functionName: string } }>) => {
      return logs?.streams(request.params.functionName) ?? [];
    },
  );

  app.get(
    "/logs/:functionName",
    async (
      request: FastifyRequest<{ Params: { functionName: string }; Querystring: Query }>,
      reply,
    ) => {
      if (!logs) return notFound(reply, "This simulator keeps no logs.");
      const { functionName } = request.params;
      // A deleted function's log stays readable, so only a name with neither
      // a function nor a log is unknown.
      if (!functionExists(service, functionName) && logs.streams(functionName).length === 0) {
        return notFound(
          reply,
          `Function not found: ${functionName}. List the functions with \`aws lambda list-functions\` against this endpoint.`,
        );
      }
      const query = {
        functionName: request.params.functionName,
        afterSequence:
          request.query.after === undefined
            ? undefined
            : positiveInteger(request.query.after, "after", 0),
        logStreamNames: request.query.stream ? [request.query.stream] : undefined,
        requestId: request.query.requestId || undefined,
        filterPattern: request.query.filter || undefined,
        limit: positiveInteger(request.query.limit, "limit", 10_000),
      };
      const waitSeconds = Math.min(
        positiveInteger(request.query.wait, "wait", 0),
        MAX_LOG_WAIT_SECONDS,
      );

      let events = logs.query(query);
      if (events.length === 0 && waitSeconds > 0) {
        await waitForLine(logs, query.functionName, waitSeconds * 1000, request);
        events = logs.query(query);
      }
      const lastSequence = events.at(-1)?.sequence ?? Math.max(query.afterSequence ?? 0, 0);
      return { events, lastSequence, latestSequence: logs.lastSequence };
    },
  );
};

/**
 * Resolves when the function logs a line, the wait elapses or the client
 * goes away. The wait is real time on purpose: it paces an HTTP client.
 */
function waitForLine(
  logs: LogStore,
  functionName: string,
  waitMs: number,
  request: FastifyRequest,
): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      logs.off("event", onEvent);
      request.raw.off("close", finish);
      resolve();
    };
    const onEvent = (event: StoredLogEvent) => {
      if (event.functionName === functionName) finish();
    };
    const timer = setTimeout(finish, waitMs);
    timer.unref();
    logs.on("event", onEvent);
    request.raw.once("close", finish);
  });
}
