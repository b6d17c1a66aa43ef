import { randomBytes, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import type { ResourceSample, RuntimeExit, Sandbox, SandboxBackend } from "../sandbox/backend.ts";
import { canMove, type EnvironmentStatus, IllegalTransitionError } from "./environment-status.ts";
import { DEFAULT_NOFILE, DEFAULT_NPROC } from "./function-config.ts";
import type { ResolvedFunction } from "./function-registry-types.ts";
import {
  exitFailure,
  failurePayload,
  type InvocationFailure,
  responseTooLargeFailure,
  timeoutFailure,
} from "./invocation-failures.ts";
import { endLine, logStreamName, reportLine, startLine } from "./log-lines.ts";
import type { RuntimeApi, RuntimeInitOutcome } from "./runtime-api/types.ts";
import type { EnvironmentInfo, InvocationOutcome, InvocationRecord, LogSink } from "./types.ts";

/** The init phase of an on-demand environment is limited to 10 seconds. */
export const INIT_LIMIT_MS = 10_000;
/** The shutdown phase gets 2 seconds before the sandbox is killed. */
export const SHUTDOWN_GRACE_MS = 2_000;
/** Maximum wait for the runtime's `next` call before the sandbox is frozen anyway. */
const FREEZE_WAIT_MS = 1_000;
/** LogType Tail returns the last 4 KB of the invocation's log. */
const TAIL_BYTES = 4096;

/** Services an environment uses from the simulator around it. */
export interface EnvironmentDependencies {
  backend: SandboxBackend;
  createRuntimeApi: () => Promise<RuntimeApi>;
  clock: Clock;
  logger: Logger;
  logSink: LogSink;
  /** Variables every sandbox gets besides Lambda's own: endpoint, region, credentials. */
  baseEnvironment: () => Record<string, string>;
  /** Sample resources after every invocation (default on); off only to measure the probes' cost. */
  probes?: boolean;
}

/** One invocation handed to an environment. */
export interface EnvironmentInvocation {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  clientContext?: string;
  coldStart: boolean;
  /** Set for a cold start: how long the init phase took. */
  initDurationMs?: number;
}

/** Result of one invocation on an environment. */
export interface EnvironmentInvokeResult {
  payload: Buffer;
  functionError: boolean;
  record: InvocationRecord;
  /** The last 4 KB of the invocation's log lines. */
  tail: string;
  /**
   * Resolves when the environment can serve again (after probes, freezing
   * and, following a fault, the reset), or when it has shut down.
   */
  settled: Promise<void>;
}

type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void };

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface CurrentInvocation {
  requestId: string;
  lines: string[];
}

/**
 * One execution environment: a sandbox, its Runtime API and the lifecycle
 * between them. It owns its status; the pool decides which environment
 * serves which invocation.
 */
export class ExecutionEnvironment {
  readonly environmentId = randomBytes(16).toString("hex");
  readonly resolved: ResolvedFunction;
  readonly createdAt: number;
  readonly logStreamName: string;
  /** Set by the pool: shut down when the current invocation ends. */
  drainReason: string | undefined;

  #deps: EnvironmentDependencies;
  #logger: Logger;
  #status: EnvironmentStatus = "starting";
  #sandbox: Sandbox | undefined;
  #runtimeApi: RuntimeApi | undefined;
  #initialized = false;
  #invocations = 0;
  #resets = 0;
  #lastInvokedAt: number | undefined;
  #endReason: string | undefined;
  #lastProbe: ResourceSample | undefined;
  #current: CurrentInvocation | undefined;
  #runtimeExit: Deferred<RuntimeExit> = deferred();
  /** Resolved by {@link shutdown}, so an init in progress stops waiting. */
  #shuttingDown: Deferred<RuntimeExit> = deferred();
  #ignoreExits = false;
  #frozen = false;
  #freezeChain: Promise<void> = Promise.resolve();
  /** The shutdown in progress or done, shared by every caller of {@link shutdown}. */
  #shutdown: Promise<void> | undefined;
  #partialLines: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };

  constructor(resolved: ResolvedFunction, deps: EnvironmentDependencies) {
    this.resolved = resolved;
    this.#deps = deps;
    this.createdAt = deps.clock.now();
    this.logStreamName = logStreamName(this.createdAt, resolved.version, this.environmentId);
    this.#logger = deps.logger.child({
      functionName: resolved.config.functionName,
      environmentId: this.environmentId,
    });
  }

  get status(): EnvironmentStatus {
    return this.#status;
  }

  get invocationCount(): number {
    return this.#invocations;
  }

  get lastInvokedAt(): number | undefined {
    return this.#lastInvokedAt;
  }

  /** Returns a snapshot for introspection. */
  info(): EnvironmentInfo {
    return {
      environmentId: this.environmentId,
      functionName: this.resolved.config.functionName,
      version: this.resolved.version,
      configurationId: this.resolved.configurationId,
      status: this.#status,
      createdAt: this.createdAt,
      lastInvokedAt: this.#lastInvokedAt,
      invocations: this.#invocations,
      resets: this.#resets,
      endReason: this.#endReason,
      lastProbe: this.#lastProbe,
      logStreamName: this.logStreamName,
    };
  }

  /**
   * Starts the sandbox and runs the init phase. Resolves with the init
   * duration, leaving the environment in `initializing` for the cold-start
   * invocation that asked for it. A failed or timed-out init does not throw:
   * Lambda retries init during the first invocation.
   */
  async start(): Promise<{ initDurationMs: number }> {
    const { config } = this.resolved;
    this.#runtimeApi = await this.#deps.createRuntimeApi();
    const environment = this.#sandboxEnvironment(this.#runtimeApi);

    const started = performance.now();
    this.#sandbox = await this.#deps.backend.start({
      environmentId: this.environmentId,
      functionName: config.functionName,
      codeDir: config.codeDir,
      entry: config.runtime.startsWith("nodejs")
        ? { kind: "node", nodeMajor: Number.parseInt(config.runtime.slice(6), 10) }
        : { kind: "bootstrap" },
      env: environment,
      runtimeApi: { host: this.#runtimeApi.host, port: this.#runtimeApi.port },
      memoryMb: config.memorySize,
      ephemeralStorageMb: config.ephemeralStorageSize,
      nofile: DEFAULT_NOFILE,
      nproc: DEFAULT_NPROC,
    });
    this.#sandbox.onOutput((chunk, stream) => this.#onOutput(chunk, stream));
    this.#sandbox.onRuntimeExit((exit) => this.#onRuntimeExit(exit));
    this.#moveTo("initializing");

    await this.#runInit(INIT_LIMIT_MS);
    return { initDurationMs: performance.now() - started };
  }

  /**
   * Runs one invocation. The environment must be `idle` (warm start) or
   * `initializing` right after {@link start} (cold start).
   */
  async invoke(invocation: EnvironmentInvocation): Promise<EnvironmentInvokeResult> {
    const { config } = this.resolved;
    const runtimeApi = this.#runtimeApi;
    if (!runtimeApi) throw new Error(`Environment ${this.environmentId} was never started.`);
    this.#moveTo("busy");
    this.#invocations++;
    this.#lastInvokedAt = this.#deps.clock.now();
    this.#current = { requestId: invocation.requestId, lines: [] };
    const release = this.#deps.clock.hold();
    const startedAt = this.#deps.clock.now();
    this.#appLine(startLine(invocation.requestId, this.resolved.version));

    const thawed = this.#thaw();
    const started = performance.now();
    const deadlineMs = Date.now() + config.timeout * 1000;
    let failure: InvocationFailure | undefined;
    let payload: Buffer = Buffer.alloc(0);
    let functionError = false;
    let errorType: string | undefined;

    // Lambda retries a failed init inside the first invocation, within the
    // function's timeout.
    if (!this.#initialized) {
      await thawed;
      const initFailure = await this.#retryInit(invocation.requestId, deadlineMs - Date.now());
      if (initFailure) {
        failure = initFailure.failure;
        if (initFailure.payload) payload = initFailure.payload;
      }
    }

    if (!failure) {
      const outcome = await this.#runInvocation(runtimeApi, invocation, deadlineMs);
      if ("failure" in outcome) {
        failure = outcome.failure;
      } else {
        payload = outcome.payload;
        functionError = outcome.functionError;
        errorType = outcome.errorType;
      }
    }
    const durationMs = performance.now() - started;
    // The runtime wrote its log lines to the pipe before it posted the
    // response, but both can be ready in the same event-loop turn: let the
    // pipe's data events run first so END comes after the function's lines.
    await new Promise<void>((resolve) => setImmediate(resolve));

    if (failure) {
      functionError = true;
      errorType = failure.errorType;
      if (payload.length === 0) payload = failurePayload(failure);
      if (failure.outcome === "timeout") {
        this.#appLine(
          `${new Date().toISOString()} ${invocation.requestId} Task timed out after ${config.timeout.toFixed(2)} seconds`,
        );
      }
    }
    const outcome: InvocationOutcome =
      failure?.outcome ?? (functionError ? "function-error" : "success");

    // Sample before the environment can change again, because a frozen sandbox stays still.
    const faulted =
      failure !== undefined &&
      failure.outcome !== "response-too-large" &&
      failure.outcome !== "init-error";
    if (!faulted) this.#freeze(runtimeApi);
    const probe = await this.#measure();
    // The probe's peak counts pages of the shared Node.js binary that the
    // memory cgroup does not charge, so it can exceed the function's memory
    // without a kill. Lambda's REPORT never shows more than Memory Size; the
    // probe keeps the measured value for diagnostics.
    const maxMemoryUsedMb = probe
      ? Math.min(probe.peakResidentBytes / (1024 * 1024), config.memorySize)
      : 0;
    this.#appLine(endLine(invocation.requestId));
    this.#appLine(
      reportLine(invocation.requestId, {
        durationMs,
        memorySizeMb: config.memorySize,
        maxMemoryUsedMb,
        initDurationMs: invocation.initDurationMs,
        status: failure && failure.outcome !== "init-error" ? statusOf(failure) : undefined,
      }),
    );

    const record: InvocationRecord = {
      requestId: invocation.requestId,
      functionName: config.functionName,
      version: this.resolved.version,
      environmentId: this.environmentId,
      invocationNumber: this.#invocations,
      coldStart: invocation.coldStart,
      startedAt,
      durationMs,
      initDurationMs: invocation.initDurationMs,
      outcome,
      errorType,
      errorMessage: functionError ? errorMessageOf(payload) : undefined,
      probe,
    };
    const tail = tailOf(this.#current.lines);
    this.#current = undefined;
    release();

    const settled = faulted
      ? this.#reset(new Error(`Invocation ${invocation.requestId} failed: ${errorType}`))
      : this.#freezeChain;
    return { payload, functionError, record, tail, settled: settled.then(() => this.#settle()) };
  }

  /** Shuts the environment down: SHUTDOWN phase, then the sandbox is stopped. */
  shutdown(reason: string): Promise<void> {
    // A second caller, such as the simulator closing during a reclaim, waits
    // for the shutdown already running.
    this.#shutdown ??= this.#runShutdown(reason);
    return this.#shutdown;
  }

  async #runShutdown(reason: string): Promise<void> {
    this.#endReason = reason;
    this.#moveTo("shutting-down", { reason });
    this.#ignoreExits = true;
    this.#shuttingDown.resolve({ exitCode: null, signal: "SIGKILL", outOfMemory: false });

    try {
      await this.#freezeChain;
      if (this.#frozen) await this.#sandbox?.thaw();
      await this.#sandbox?.stop(SHUTDOWN_GRACE_MS);
    } catch (error) {
      this.#logger.warn({ err: error }, "sandbox stop failed");
    }
    await this.#runtimeApi?.close().catch(() => {});
    this.#moveTo("gone", { reason });
  }

  #settle(): void {
    if (this.#status === "busy") this.#moveTo("idle");
  }

  async #runInvocation(
    runtimeApi: RuntimeApi,
    invocation: EnvironmentInvocation,
    deadlineMs: number,
  ): Promise<
    { failure: InvocationFailure } | { payload: Buffer; functionError: boolean; errorType?: string }
  > {
    const { requestId } = invocation;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadlineMs - Date.now()));
    });

    try {
      const result = await Promise.race([
        runtimeApi.invoke({
          requestId,
          payload: invocation.payload,
          deadlineMs,
          invokedFunctionArn: invocation.invokedFunctionArn,
          traceId: traceId(),
          clientContext: invocation.clientContext
            ? decodeClientContext(invocation.clientContext)
            : undefined,
        }),
        this.#runtimeExit.promise,
        this.#shuttingDown.promise,
        timedOut,
      ]);

      if (result === "timeout")
        return { failure: timeoutFailure(requestId, this.resolved.config.timeout) };
      if ("exitCode" in result) return { failure: exitFailure(requestId, result) };
      if (result.kind === "response-too-large")
        return { failure: responseTooLargeFailure(result.bytes) };
      if (result.kind === "error") {
        return {
          payload: result.payload,
          functionError: true,
          errorType: result.errorType ?? errorTypeOf(result.payload),
        };
      }
      return { payload: result.payload, functionError: false };
    } catch (error) {
      // The Runtime API rejects a pending invoke when the runtime is reset.
      this.#logger.warn({ err: error, requestId }, "runtime API invoke failed");
      return {
        failure: exitFailure(requestId, { exitCode: null, signal: null, outOfMemory: false }),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the init phase of the current runtime process for at most `limitMs`. */
  async #runInit(limitMs: number): Promise<RuntimeInitOutcome | "timeout" | RuntimeExit> {
    const runtimeApi = this.#runtimeApi;
    if (!runtimeApi) throw new Error(`Environment ${this.environmentId} was never started.`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, limitMs));
    });

    const started = performance.now();
    const outcome = await Promise.race([
      runtimeApi.waitForInit(),
      this.#runtimeExit.promise,
      this.#shuttingDown.promise,
      timedOut,
    ]);
    clearTimeout(timer);
    const initDurationMs = Math.min(performance.now() - started, limitMs);
    this.#initialized =
      outcome !== "timeout" && !("exitCode" in outcome) && outcome.kind === "ready";
    if (!this.#initialized && this.#status !== "shutting-down" && this.#status !== "gone") {
      const status = outcome === "timeout" ? "timeout" : "error";
      const errorType =
        outcome !== "timeout" && "kind" in outcome && outcome.kind === "init-error"
          ? outcome.errorType
          : undefined;
      this.#logger.info({ status, errorType }, "init failed");
      this.#appLine(
        `INIT_REPORT Init Duration: ${initDurationMs.toFixed(2)} ms\tPhase: init\tStatus: ${status}${errorType ? `\tError Type: ${errorType}` : ""}`,
      );
    }
    return outcome;
  }

  /** Resets the runtime and runs init again inside an invocation. */
  async #retryInit(
    requestId: string,
    budgetMs: number,
  ): Promise<{ failure: InvocationFailure; payload?: Buffer } | undefined> {
    await this.#restartRuntime(new Error("init is retried"));
    const outcome = await this.#runInit(budgetMs);
    if (outcome === "timeout")
      return { failure: timeoutFailure(requestId, this.resolved.config.timeout) };
    if ("exitCode" in outcome) return { failure: exitFailure(requestId, outcome) };
    if (outcome.kind === "init-error") {
      const errorType = outcome.errorType ?? errorTypeOf(outcome.payload) ?? "Runtime.Unknown";
      return {
        failure: {
          outcome: "init-error",
          errorType,
          errorMessage: errorMessageOf(outcome.payload) ?? errorType,
        },
        payload: outcome.payload,
      };
    }
    return undefined;
  }

  /**
   * Reset after a timeout or crash, as Lambda does: the runtime process is
   * restarted in the same sandbox and initialised again; /tmp is kept.
   */
  async #reset(reason: Error): Promise<void> {
    this.#resets++;
    this.#logger.info({ reason: reason.message }, "environment reset");
    if (this.#status === "busy") this.#moveTo("initializing");
    try {
      await this.#restartRuntime(reason);
      await this.#runInit(INIT_LIMIT_MS);
    } catch (error) {
      this.#logger.error({ err: error }, "environment reset failed");
      await this.shutdown("reset-failed");
      return;
    }
    if (this.#status === "initializing") this.#moveTo("idle");
    this.#freeze();
    await this.#freezeChain;
  }

  async #restartRuntime(reason: Error): Promise<void> {
    const sandbox = this.#sandbox;
    if (!sandbox) return;
    this.#ignoreExits = true;
    this.#runtimeApi?.resetRuntime(reason);
    try {
      await this.#freezeChain;
      if (this.#frozen) {
        await sandbox.thaw();
        this.#frozen = false;
      }
      this.#runtimeExit = deferred();
      await sandbox.resetRuntime();
    } finally {
      this.#ignoreExits = false;
    }
  }

  #onRuntimeExit(exit: RuntimeExit): void {
    if (this.#ignoreExits || this.#status === "shutting-down" || this.#status === "gone") return;
    this.#logger.info(
      { exitCode: exit.exitCode, signal: exit.signal, outOfMemory: exit.outOfMemory },
      "runtime exited",
    );
    this.#runtimeExit.resolve(exit);
    // An exit outside an invocation leaves an environment that must init again.
    if (!this.#current) this.#initialized = false;
  }

  /**
   * Freezes the sandbox once the runtime requests its next event, which is
   * where Lambda freezes it, or after FREEZE_WAIT_MS without that request.
   */
  #freeze(runtimeApi?: RuntimeApi): void {
    if (!this.resolved.config.simulator.freeze) return;
    const sandbox = this.#sandbox;
    this.#freezeChain = this.#freezeChain.then(async () => {
      if (this.#frozen || !sandbox) return;
      if (runtimeApi) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          runtimeApi.waitForNext(),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, FREEZE_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
      }
      try {
        await sandbox.freeze();
        this.#frozen = true;
      } catch (error) {
        this.#logger.warn({ err: error }, "freeze failed");
      }
    });
  }

  #thaw(): Promise<void> {
    const sandbox = this.#sandbox;
    this.#freezeChain = this.#freezeChain.then(async () => {
      if (!this.#frozen || !sandbox) return;
      try {
        await sandbox.thaw();
      } catch (error) {
        this.#logger.warn({ err: error }, "thaw failed");
      }
      this.#frozen = false;
    });
    return this.#freezeChain;
  }

  async #measure(): Promise<ResourceSample | undefined> {
    if (this.#deps.probes === false) return undefined;
    try {
      const probe = await this.#sandbox?.measure();
      if (probe) this.#lastProbe = probe;
      return probe;
    } catch (error) {
      this.#logger.debug({ err: error }, "probe failed");
      return undefined;
    }
  }

  #moveTo(to: EnvironmentStatus, fields: Record<string, unknown> = {}): void {
    const from = this.#status;
    if (!canMove(from, to)) throw new IllegalTransitionError(this.environmentId, from, to);
    this.#status = to;
    this.#logger.debug(
      { from, to, requestId: this.#current?.requestId, ...fields },
      "environment status changed",
    );
  }

  #sandboxEnvironment(runtimeApi: RuntimeApi): Record<string, string> {
    const { config, version } = this.resolved;
    const lambdaVariables: Record<string, string> = {
      _HANDLER: config.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${config.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: config.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: version,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${config.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
      AWS_LAMBDA_RUNTIME_API: `${runtimeApi.host}:${runtimeApi.port}`,
      LAMBDA_TASK_ROOT: config.codeDir,
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
    };
    return { ...config.environment, ...this.#deps.baseEnvironment(), ...lambdaVariables };
  }

  #onOutput(chunk: Buffer, stream: "stdout" | "stderr"): void {
    const text = this.#partialLines[stream] + chunk.toString("utf8");
    const lines = text.split("\n");
    this.#partialLines[stream] = lines.pop() ?? "";
    for (const line of lines) this.#appLine(line);
  }

  #appLine(message: string): void {
    this.#current?.lines.push(message);
    this.#deps.logSink.append({
      functionName: this.resolved.config.functionName,
      logStreamName: this.logStreamName,
      environmentId: this.environmentId,
      timestamp: this.#deps.clock.now(),
      message,
      requestId: this.#current?.requestId,
    });
  }
}

function statusOf(failure: InvocationFailure): string {
  if (failure.outcome === "timeout") return "timeout";
  return "error";
}

function tailOf(lines: string[]): string {
  const text = lines.join("\n") + (lines.length > 0 ? "\n" : "");
  const bytes = Buffer.from(text);
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString("base64");
}

function errorTypeOf(payload: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(payload.toString("utf8"));
    return typeof parsed?.errorType === "string" ? parsed.errorType : undefined;
  } catch {
    return undefined;
  }
}

function errorMessageOf(payload: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(payload.toString("utf8"));
    return typeof parsed?.errorMessage === "string" ? parsed.errorMessage : undefined;
  } catch {
    return undefined;
  }
}

function decodeClientContext(base64: string): string {
  return Buffer.from(base64, "base64").toString("utf8");
}

/** Creates an X-Ray trace header: `Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0`. */
function traceId(): string {
  const time = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, "0");
  const random = randomHex() + randomHex();
  return `Root=1-${time}-${random.slice(0, 24)};Parent=${random.slice(24, 40)};Sampled=0`;
}

// 30 random hex digits. randomUUID draws from a buffer of entropy that it
// refills now and then, where randomBytes makes a call per use: two such
// calls were 2% of a warm invoke's time. The UUID's version and variant
// digits are fixed, so they are left out.
function randomHex(): string {
  const hex = randomUUID().replaceAll("-", "");
  return hex.slice(0, 12) + hex.slice(13, 16) + hex.slice(17);
}
