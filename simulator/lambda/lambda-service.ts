import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { SandboxBackend } from "../sandbox/backend.ts";
import { ACCOUNT_CONCURRENCY, EnvironmentPool } from "./environment-pool.ts";
import { InvalidRequestContentException, RequestTooLargeException } from "./errors.ts";
import type { FunctionResolver } from "./function-registry-types.ts";
import type { RuntimeApi } from "./runtime-api/types.ts";
import type {
  EnvironmentInfo,
  InvocationRecord,
  InvokeRequest,
  InvokeResult,
  LogSink,
} from "./types.ts";

/**
 * Synchronous invocations accept at most 6 MB of request payload.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024;
/** Invocation records kept for introspection and reports. */
const RECORD_HISTORY = 500_000;

/** Events of the Lambda service. */
export interface LambdaServiceEvents {
  invocation: [record: InvocationRecord];
  environment: [info: EnvironmentInfo];
}

/** Options of {@link LambdaService}. */
export interface LambdaServiceOptions<Registry extends FunctionResolver> {
  registry: Registry;
  backend: SandboxBackend;
  createRuntimeApi: () => Promise<RuntimeApi>;
  clock: Clock;
  logger: Logger;
  logSink: LogSink;
  /** Variables every sandbox gets so unmodified SDK clients reach the simulator. */
  baseEnvironment: () => Record<string, string>;
  accountConcurrency?: number;
  /** Sample resources after every invocation (default on). */
  probes?: boolean;
}

/**
 * The Lambda service: resolves the function version, lets the pool place the
 * invocation on an execution environment, and keeps a record of each one.
 * Event invocations are queued by the async invoker in front of this class;
 * here every invocation that runs is synchronous.
 */
export class LambdaService<Registry extends FunctionResolver = FunctionResolver> {
  readonly registry: Registry;
  readonly events = new EventEmitter<LambdaServiceEvents>();
  readonly backend: SandboxBackend;
  /** Account-wide concurrency limit (Lambda's default quota is 1,000). */
  readonly accountConcurrency: number;
  #pool: EnvironmentPool;
  #records: InvocationRecord[] = [];
  #logger: Logger;

  constructor(options: LambdaServiceOptions<Registry>) {
    this.registry = options.registry;
    this.backend = options.backend;
    this.#logger = options.logger;
    this.accountConcurrency = options.accountConcurrency ?? ACCOUNT_CONCURRENCY;
    this.#pool = new EnvironmentPool({
      dependencies: {
        backend: options.backend,
        createRuntimeApi: options.createRuntimeApi,
        clock: options.clock,
        logger: options.logger,
        logSink: options.logSink,
        baseEnvironment: options.baseEnvironment,
        probes: options.probes,
      },
      resolver: options.registry,
      accountConcurrency: this.accountConcurrency,
      listener: { environmentChanged: (info) => this.events.emit("environment", info) },
    });
  }

  /**
   * Invokes a function synchronously (RequestResponse) or validates the
   * request (DryRun, which returns status 204 without running anything).
   * Throws ResourceNotFoundException, TooManyRequestsException,
   * RequestTooLargeException, InvalidRequestContentException or
   * ServiceException as the Invoke API does.
   */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const resolved = this.registry.resolve(request.functionName, request.qualifier);
    if (request.payload.length > MAX_SYNC_REQUEST_BYTES) {
      throw new RequestTooLargeException(
        `Request must be smaller than ${MAX_SYNC_REQUEST_BYTES} bytes for the InvokeFunction operation`,
      );
    }
    assertJsonPayload(request.payload);
    // Event retries keep the request id the caller got with its 202.
    const requestId = request.requestId ?? randomUUID();
    if (request.invocationType === "DryRun") {
      return {
        statusCode: 204,
        payload: Buffer.alloc(0),
        executedVersion: resolved.version,
        requestId,
      };
    }

    const result = await this.#pool.invoke(resolved, {
      requestId,
      payload: request.payload,
      clientContext: request.clientContext,
    });

    if (request.caller) result.record.caller = request.caller;
    this.#records.push(result.record);
    if (this.#records.length > RECORD_HISTORY)
      this.#records.splice(0, this.#records.length - RECORD_HISTORY);
    this.events.emit("invocation", result.record);
    if (result.record.outcome !== "success") this.#logFailure(result.record);
    return {
      statusCode: 200,
      payload: result.payload,
      functionError: result.functionError ? "Unhandled" : undefined,
      executedVersion: resolved.version,
      logResult: request.logType === "Tail" ? result.tail : undefined,
      requestId,
      record: result.record,
    };
  }

  /** Environments of one function or of all, including recently gone ones. */
  environments(functionName?: string): EnvironmentInfo[] {
    return this.#pool.environments(functionName);
  }

  /** Environments that are not gone. */
  liveEnvironmentCount(): number {
    return this.#pool.liveCount();
  }

  /** Invocation records of one function or of all, oldest first. */
  invocations(functionName?: string): InvocationRecord[] {
    return functionName
      ? this.#records.filter((record) => record.functionName === functionName)
      : [...this.#records];
  }

  // The function's own log has the whole error. The simulator's log gets one
  // line per failed invocation, so `serve` output shows failures as they happen.
  #logFailure(record: InvocationRecord): void {
    this.#logger.info(
      {
        functionName: record.functionName,
        environmentId: record.environmentId,
        invocationNumber: record.invocationNumber,
        requestId: record.requestId,
        outcome: record.outcome,
        errorType: record.errorType,
        errorMessage: record.errorMessage?.split("\n", 1)[0],
      },
      "invocation failed",
    );
  }

  /** Shuts down every environment. */
  async close(): Promise<void> {
    this.#logger.debug("lambda service closing");
    await this.#pool.close();
  }
}

/**
 * Rejects a payload that is not JSON with InvalidRequestContentException, as
 * Lambda does. An empty payload is allowed.
 */
export function assertJsonPayload(payload: Buffer): void {
  if (payload.length === 0) return;
  try {
    JSON.parse(payload.toString("utf8"));
  } catch (error) {
    throw new InvalidRequestContentException(
      `Could not parse request body into json: Could not parse payload into json: ${(error as Error).message}. Send a JSON document as the payload.`,
    );
  }
}
