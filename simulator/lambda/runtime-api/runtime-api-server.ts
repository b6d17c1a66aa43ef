/**
 * One execution environment's Runtime API endpoint: AWS's paths, headers,
 * status codes and error bodies on a loopback port, served with node:http
 * because it sits on the warm-invoke path.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../../logger.ts";
import { MAX_RESPONSE_BYTES } from "../invocation-failures.ts";
import {
  API_PREFIX,
  errorTypeHeader,
  INIT_ERROR_PATH,
  INVOCATION_PREFIX,
  NEXT_PATH,
  readBody,
  sendAccepted,
  sendError,
} from "./runtime-api-wire.ts";
import type {
  RuntimeApi,
  RuntimeInitOutcome,
  RuntimeInvocation,
  RuntimeInvocationOutcome,
} from "./types.ts";

/**
 * Phase of the current runtime process in AWS's Runtime API state machine.
 * It is `init` until the first `next`, `waiting` while a `next` is open,
 * `invoking` while an event is out, `responded` between an outcome and the
 * following `next`, and `init-failed` after `init/error`.
 */
type RuntimePhase = "init" | "waiting" | "invoking" | "responded" | "init-failed";

interface PendingInvocation {
  invocation: RuntimeInvocation;
  resolve: (outcome: RuntimeInvocationOutcome) => void;
  reject: (reason: Error) => void;
}

interface InitWaiter {
  promise: Promise<RuntimeInitOutcome>;
  resolve: (outcome: RuntimeInitOutcome) => void;
  reject: (reason: Error) => void;
}

/** A Runtime API server for one execution environment. */
export class RuntimeApiServer implements RuntimeApi {
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #logger: Logger | undefined;
  /** Incremented by every reset; sockets remember the generation they were opened in. */
  #generation = 0;
  readonly #socketGenerations = new WeakMap<Socket, number>();
  #phase: RuntimePhase = "init";
  #initOutcome: RuntimeInitOutcome | undefined;
  #initWaiter: InitWaiter | undefined;
  /** The event queued for, or handed to, the runtime. */
  #pending: PendingInvocation | undefined;
  /** The `next` request held open until an event arrives. */
  #heldNext: ServerResponse | undefined;
  /** Callers of waitForNext, released when a `next` is held, on reset and on close. */
  #nextWaiters: Array<() => void> = [];

  private constructor(server: Server, host: string, port: number, logger: Logger | undefined) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.#logger = logger;
  }

  /** Starts a server on `host` (127.0.0.1 by default) and a free port. */
  static async start(options: { host?: string; logger?: Logger } = {}): Promise<RuntimeApiServer> {
    const host = options.host ?? "127.0.0.1";
    // `next` is a long poll that may stay open for the whole idle life of an
    // environment, and the runtime may be frozen between two calls on one
    // keep-alive connection, so every server-side timeout is off.
    const server = createServer({
      requestTimeout: 0,
      headersTimeout: 0,
      keepAliveTimeout: 0,
      noDelay: true,
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") {
      server.close();
      throw new Error(
        `Runtime API server on ${host} has no TCP address; expected a host:port listener.`,
      );
    }

    const api = new RuntimeApiServer(
      server,
      host,
      address.port,
      options.logger?.child({ runtimeApiPort: address.port }),
    );
    server.on("connection", (socket: Socket) =>
      api.#socketGenerations.set(socket, api.#generation),
    );
    server.on("request", (request: IncomingMessage, response: ServerResponse) =>
      api.#route(request, response),
    );
    return api;
  }

  waitForInit(): Promise<RuntimeInitOutcome> {
    if (this.#initOutcome) return Promise.resolve(this.#initOutcome);
    if (!this.#initWaiter) {
      let resolve!: (outcome: RuntimeInitOutcome) => void;
      let reject!: (reason: Error) => void;
      const promise = new Promise<RuntimeInitOutcome>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#initWaiter = { promise, resolve, reject };
    }
    return this.#initWaiter.promise;
  }

  invoke(invocation: RuntimeInvocation): Promise<RuntimeInvocationOutcome> {
    if (this.#pending) {
      const busyWith = this.#pending.invocation.requestId;
      return Promise.reject(
        new Error(
          `Runtime API on port ${this.port} is busy with request ${busyWith}; invoke ${invocation.requestId} only after it finished.`,
        ),
      );
    }

    return new Promise<RuntimeInvocationOutcome>((resolve, reject) => {
      this.#pending = { invocation, resolve, reject };
      const held = this.#heldNext;
      if (held) {
        this.#heldNext = undefined;
        this.#deliver(held, invocation);
      }
    });
  }

  waitForNext(): Promise<void> {
    if (this.#phase === "waiting") return Promise.resolve();
    return new Promise((resolve) => this.#nextWaiters.push(resolve));
  }

  #releaseNextWaiters(): void {
    const waiters = this.#nextWaiters;
    this.#nextWaiters = [];
    for (const resolve of waiters) resolve();
  }

  resetRuntime(reason: Error): void {
    this.#generation++;
    this.#releaseNextWaiters();
    this.#logger?.debug({ reason: reason.message, generation: this.#generation }, "runtime reset");

    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(reason);

    const waiter = this.#initWaiter;
    this.#initWaiter = undefined;
    waiter?.reject(reason);

    const held = this.#heldNext;
    this.#heldNext = undefined;
    if (held) {
      sendError(
        held,
        403,
        "InvalidStateTransition",
        "The runtime was reset; this process must exit.",
        {
          closeConnection: true,
        },
      );
    }

    this.#phase = "init";
    this.#initOutcome = undefined;
  }

  async close(): Promise<void> {
    this.#releaseNextWaiters();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(
      new Error(
        `Runtime API on port ${this.port} closed before the runtime posted a result for request ${pending.invocation.requestId}.`,
      ),
    );
    this.#heldNext = undefined;

    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #route(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? "";

    // A connection opened before the last reset belongs to a runtime process
    // that no longer counts.
    if (this.#socketGenerations.get(request.socket) !== this.#generation) {
      request.resume();
      sendError(
        response,
        403,
        "InvalidStateTransition",
        "The runtime was reset; this process must exit.",
        {
          closeConnection: true,
        },
      );
      return;
    }

    const route = matchRoute(url);
    if (route === undefined) {
      request.resume();
      const hint = url.startsWith(API_PREFIX) ? "" : ` Runtime API paths start with ${API_PREFIX}.`;
      sendError(
        response,
        404,
        "NotFound",
        `No Runtime API route for ${request.method} ${url}.${hint}`,
      );
      return;
    }

    const allowed = route.kind === "next" ? "GET" : "POST";
    if (request.method !== allowed) {
      this.#methodNotAllowed(request, response, allowed);
      return;
    }

    if (route.kind === "next") {
      request.resume();
      this.#next(response);
    } else if (route.kind === "init-error") {
      this.#settle(this.#initError(request, response), response);
    } else {
      this.#settle(
        this.#invocationResult(request, response, route.requestId, route.kind),
        response,
      );
    }
  }

  /** Serves `GET next`: sends the queued event, or keeps the request open until one arrives. */
  #next(response: ServerResponse): void {
    if (this.#phase === "waiting" || this.#phase === "invoking" || this.#phase === "init-failed") {
      const detail =
        this.#phase === "invoking"
          ? `post a response or error for request ${this.#pending?.invocation.requestId} first`
          : this.#phase === "waiting"
            ? "another next request is already waiting"
            : "init failed and the runtime must exit";
      this.#rejectTransition(response, "next", detail);
      return;
    }

    if (this.#phase === "init") {
      this.#initOutcome = { kind: "ready" };
      this.#logger?.debug("runtime init done");
      const waiter = this.#initWaiter;
      this.#initWaiter = undefined;
      waiter?.resolve(this.#initOutcome);
    }

    const pending = this.#pending;
    if (pending) {
      this.#deliver(response, pending.invocation);
      return;
    }
    this.#phase = "waiting";
    this.#heldNext = response;
    this.#releaseNextWaiters();
    // A runtime that dies while waiting must not receive the next event.
    response.once("close", () => {
      if (this.#heldNext === response && !response.writableFinished) {
        this.#heldNext = undefined;
        this.#phase = "responded";
      }
    });
  }

  #deliver(response: ServerResponse, invocation: RuntimeInvocation): void {
    // https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-next
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Content-Length": String(invocation.payload.length),
      "Lambda-Runtime-Aws-Request-Id": invocation.requestId,
      "Lambda-Runtime-Deadline-Ms": String(invocation.deadlineMs),
      "Lambda-Runtime-Invoked-Function-Arn": invocation.invokedFunctionArn,
      "Lambda-Runtime-Trace-Id": invocation.traceId,
    };
    if (invocation.clientContext !== undefined)
      headers["Lambda-Runtime-Client-Context"] = invocation.clientContext;
    if (invocation.cognitoIdentity !== undefined)
      headers["Lambda-Runtime-Cognito-Identity"] = invocation.cognitoIdentity;

    this.#phase = "invoking";
    response.writeHead(200, headers);
    response.end(invocation.payload);
  }

  /** `POST invocation/{id}/response` and `POST invocation/{id}/error`. */
  async #invocationResult(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    action: "response" | "error",
  ): Promise<void> {
    const generation = this.#generation;
    const pending = this.#pending;
    if (this.#phase !== "invoking" || !pending) {
      request.resume();
      this.#rejectTransition(
        response,
        action,
        `no invocation is in progress (request ${requestId})`,
      );
      return;
    }
    if (requestId !== pending.invocation.requestId) {
      request.resume();
      this.#logger?.warn(
        { requestId, expected: pending.invocation.requestId },
        "runtime posted an unknown request id",
      );
      sendError(
        response,
        400,
        "InvalidRequestID",
        `Invalid request ID: ${requestId} is not the invocation in progress.`,
      );
      return;
    }

    const errorType = action === "error" ? errorTypeHeader(request) : undefined;
    const body = await readBody(request, MAX_RESPONSE_BYTES);

    // The runtime may have been reset, or may have posted twice, while the body arrived.
    if (
      generation !== this.#generation ||
      this.#pending !== pending ||
      this.#phase !== "invoking"
    ) {
      this.#rejectTransition(response, action, `request ${requestId} is no longer in progress`);
      return;
    }

    this.#pending = undefined;
    this.#phase = "responded";
    if (body.payload === undefined) {
      // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
      // 6 MB for a synchronous response; the invocation fails with Function.ResponseSizeTooLarge.
      sendError(
        response,
        413,
        "RequestEntityTooLarge",
        `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes): the ${action} body has ${body.bytes} bytes.`,
      );
      pending.resolve({ kind: "response-too-large", bytes: body.bytes });
      return;
    }

    sendAccepted(response);
    if (action === "response") {
      pending.resolve({ kind: "response", payload: body.payload });
    } else {
      pending.resolve({ kind: "error", errorType, payload: body.payload });
    }
  }

  /** `POST init/error`: only valid before the runtime's first `next`. */
  async #initError(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.#phase !== "init") {
      request.resume();
      this.#rejectTransition(response, "init/error", "init has already finished");
      return;
    }

    const generation = this.#generation;
    const errorType = errorTypeHeader(request);
    const body = await readBody(request, MAX_RESPONSE_BYTES);
    if (generation !== this.#generation || this.#phase !== "init") {
      this.#rejectTransition(response, "init/error", "init has already finished");
      return;
    }

    this.#phase = "init-failed";
    this.#initOutcome = { kind: "init-error", errorType, payload: body.payload ?? Buffer.alloc(0) };
    this.#logger?.debug({ errorType }, "runtime init failed");
    sendAccepted(response);
    const waiter = this.#initWaiter;
    this.#initWaiter = undefined;
    waiter?.resolve(this.#initOutcome);
  }

  /** Sends 500 when a route handler fails, because AWS documents 500 as a state the runtime must exit from. */
  #settle(work: Promise<void>, response: ServerResponse): void {
    work.catch((error: unknown) => {
      this.#logger?.error({ err: error }, "runtime API request failed");
      sendError(response, 500, "InternalServerError", "Internal Server Error", {
        closeConnection: true,
      });
    });
  }

  #rejectTransition(response: ServerResponse, call: string, detail: string): void {
    this.#logger?.warn({ call, phase: this.#phase }, "runtime API call out of order");
    // https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html: 403 Forbidden.
    sendError(
      response,
      403,
      "InvalidStateTransition",
      `The runtime may not call ${call} now: ${detail}.`,
    );
  }

  #methodNotAllowed(request: IncomingMessage, response: ServerResponse, allowed: string): void {
    request.resume();
    response.setHeader("Allow", allowed);
    sendError(
      response,
      405,
      "MethodNotAllowed",
      `${request.method} is not allowed on ${request.url}; use ${allowed}.`,
    );
  }
}

type Route =
  | { kind: "next" }
  | { kind: "init-error" }
  | { kind: "response" | "error"; requestId: string };

const NEXT_ROUTE: Route = { kind: "next" };
const INIT_ERROR_ROUTE: Route = { kind: "init-error" };

function matchRoute(url: string): Route | undefined {
  if (url === NEXT_PATH) return NEXT_ROUTE;
  if (url === INIT_ERROR_PATH) return INIT_ERROR_ROUTE;
  if (!url.startsWith(INVOCATION_PREFIX)) return undefined;

  const rest = url.slice(INVOCATION_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const action = rest.slice(slash + 1);
  if (action !== "response" && action !== "error") return undefined;
  return { kind: action, requestId: decodeRequestId(rest.slice(0, slash)) };
}

/** Runtimes URL-encode the request id in the path, as the official clients do. */
function decodeRequestId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}
