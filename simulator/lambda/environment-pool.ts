import type { Logger } from "pino";
import type { Clock, ClockTimer } from "../clock.ts";
import { ServiceException, TooManyRequestsException } from "./errors.ts";
import {
  type EnvironmentDependencies,
  type EnvironmentInvokeResult,
  ExecutionEnvironment,
  SHUTDOWN_GRACE_MS,
} from "./execution-environment.ts";
import type { FunctionResolver, ResolvedFunction } from "./function-registry-types.ts";
import type { EnvironmentInfo } from "./types.ts";

/**
 * Lambda's default account quota is 1,000 concurrent executions, and each
 * function can add 1,000 execution environments every 10 seconds.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
 * https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
 */
export const ACCOUNT_CONCURRENCY = 1_000;
export const SCALING_ENVIRONMENTS = 1_000;
export const SCALING_WINDOW_MS = 10_000;
/** Environments kept for introspection after they are gone. */
const GONE_HISTORY = 2_000;

/** One invocation for the pool to place. */
export interface PoolInvocation {
  requestId: string;
  payload: Buffer;
  clientContext?: string;
}

interface FunctionEnvironments {
  all: Set<ExecutionEnvironment>;
  /** Idle environments, most recently used last. */
  idle: ExecutionEnvironment[];
  /** Environments serving or settling after an invocation, with the settle promise. */
  settling: Map<ExecutionEnvironment, Promise<void>>;
  /** Invocations in flight, including cold starts and settling environments. */
  inFlight: number;
  /** Simulator-clock times of recent cold starts, for the scaling rate. */
  coldStarts: number[];
  reclaimTimers: Map<ExecutionEnvironment, ClockTimer>;
  lifetimeTimers: Map<ExecutionEnvironment, ClockTimer>;
}

/** Reports of the pool, for the service's records and introspection. */
export interface PoolListener {
  environmentChanged(info: EnvironmentInfo): void;
}

/**
 * Decides which execution environment serves each invocation: warm reuse of
 * an idle environment of the current configuration, a cold start while
 * concurrency allows, a throttle beyond it. It also reclaims idle
 * environments after their keep-alive and recycles them when their code or
 * configuration changes or they reach their maximum lifetime.
 */
export class EnvironmentPool {
  #deps: EnvironmentDependencies;
  #resolver: FunctionResolver;
  #clock: Clock;
  #logger: Logger;
  #listener: PoolListener;
  #accountConcurrency: number;
  #functions = new Map<string, FunctionEnvironments>();
  #gone: EnvironmentInfo[] = [];
  #closed = false;
  /** Invocations being run, awaited (for a grace period) by {@link close}. */
  #running = new Set<Promise<EnvironmentInvokeResult>>();

  constructor(options: {
    dependencies: EnvironmentDependencies;
    resolver: FunctionResolver;
    listener: PoolListener;
    accountConcurrency?: number;
  }) {
    this.#deps = options.dependencies;
    this.#resolver = options.resolver;
    this.#clock = options.dependencies.clock;
    this.#logger = options.dependencies.logger;
    this.#listener = options.listener;
    this.#accountConcurrency = options.accountConcurrency ?? ACCOUNT_CONCURRENCY;
    this.#resolver.on("configuration-changed", (name) => this.#recycleOutdated(name));
    this.#resolver.on("function-deleted", (name) => void this.#shutdownFunction(name, "deleted"));
  }

  /** Places one invocation on an environment and runs it. */
  async invoke(
    resolved: ResolvedFunction,
    invocation: PoolInvocation,
  ): Promise<EnvironmentInvokeResult> {
    if (this.#closed) throw new ServiceException("The simulator is shutting down.");
    const environments = this.#environmentsOf(resolved.config.functionName);
    // #place counts the invocation in flight in the same tick as it decides,
    // so concurrent invocations cannot both pass the concurrency check.
    const placed = await this.#place(resolved, environments);

    let result: EnvironmentInvokeResult;
    const running = this.#run(placed.environment, placed.cold, invocation);
    this.#running.add(running);
    try {
      result = await running;
    } catch (error) {
      environments.inFlight--;
      this.#logger.error(
        { err: error, environmentId: placed.environment.environmentId },
        "environment failed",
      );
      await this.#retire(placed.environment, "failed");
      throw new ServiceException(
        "The execution environment failed to start or run. See the simulator log.",
        error,
      );
    } finally {
      this.#running.delete(running);
    }

    const settled = result.settled.then(
      () => this.#release(placed.environment),
      () => this.#release(placed.environment),
    );
    environments.settling.set(placed.environment, settled);
    void settled.finally(() => {
      environments.settling.delete(placed.environment);
      environments.inFlight--;
    });
    return result;
  }

  /** Environments of one function, or of all, the gone ones last. */
  environments(functionName?: string): EnvironmentInfo[] {
    const live: EnvironmentInfo[] = [];
    for (const [name, environments] of this.#functions) {
      if (functionName && name !== functionName) continue;
      for (const environment of environments.all) live.push(environment.info());
    }
    const gone = functionName
      ? this.#gone.filter((info) => info.functionName === functionName)
      : this.#gone;
    return [...live, ...gone];
  }

  /** Number of environments not yet gone. */
  liveCount(): number {
    let count = 0;
    for (const environments of this.#functions.values()) count += environments.all.size;
    return count;
  }

  /** Shuts every environment down. */
  async close(): Promise<void> {
    this.#closed = true;
    // Invocations in flight get the shutdown phase's grace to return their
    // response before their environments stop.
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await Promise.all(
      [...this.#functions.keys()].map((name) => this.#shutdownFunction(name, "shutdown")),
    );
  }

  async #place(
    resolved: ResolvedFunction,
    environments: FunctionEnvironments,
  ): Promise<{ environment: ExecutionEnvironment; cold: boolean }> {
    const functionName = resolved.config.functionName;
    for (;;) {
      const warm = this.#takeIdle(resolved, environments);
      if (warm) {
        environments.inFlight++;
        return { environment: warm, cold: false };
      }

      // An environment that just returned its response is back in a moment: wait for it
      // rather than cold-start, as Lambda routes to an environment that is
      // already polling for its next event.
      const settling = [...environments.settling.values()];
      if (
        settling.length > 0 &&
        environments.idle.length === 0 &&
        this.#hasSameConfiguration(resolved, environments)
      ) {
        await Promise.race(settling);
        continue;
      }

      const throttle = this.#throttleReason(functionName, environments);
      if (!throttle) {
        environments.inFlight++;
        return { environment: this.#create(resolved, environments), cold: true };
      }
      // An invocation that has returned its response no longer counts against concurrency
      // on Lambda, even while its environment is still being frozen or
      // drained here: wait for those before throttling.
      if (environments.settling.size > 0) {
        await Promise.race(environments.settling.values());
        continue;
      }
      this.#logger.debug({ functionName, reason: throttle.reason }, "invocation throttled");
      throw throttle;
    }
  }

  #hasSameConfiguration(resolved: ResolvedFunction, environments: FunctionEnvironments): boolean {
    for (const environment of environments.settling.keys()) {
      if (
        environment.resolved.configurationId === resolved.configurationId &&
        !environment.drainReason
      )
        return true;
    }
    return false;
  }

  #takeIdle(
    resolved: ResolvedFunction,
    environments: FunctionEnvironments,
  ): ExecutionEnvironment | undefined {
    if (this.#atReservedLimit(resolved.config.functionName, environments)) return undefined;
    for (let index = environments.idle.length - 1; index >= 0; index--) {
      const environment = environments.idle[index];
      if (
        environment.resolved.configurationId !== resolved.configurationId ||
        environment.status !== "idle"
      )
        continue;
      environments.idle.splice(index, 1);
      this.#clock.clearTimeout(environments.reclaimTimers.get(environment));
      environments.reclaimTimers.delete(environment);
      return environment;
    }
    return undefined;
  }

  #atReservedLimit(functionName: string, environments: FunctionEnvironments): boolean {
    const reserved = this.#resolver.reservedConcurrency(functionName);
    return reserved !== undefined && environments.inFlight >= reserved;
  }

  #throttleReason(
    functionName: string,
    environments: FunctionEnvironments,
  ): TooManyRequestsException | undefined {
    if (this.#atReservedLimit(functionName, environments)) {
      return new TooManyRequestsException("ReservedFunctionConcurrentInvocationLimitExceeded");
    }
    let accountInFlight = 0;
    for (const other of this.#functions.values()) accountInFlight += other.inFlight;
    if (accountInFlight >= this.#accountConcurrency) {
      return new TooManyRequestsException("ConcurrentInvocationLimitExceeded");
    }

    const now = this.#clock.now();
    environments.coldStarts = environments.coldStarts.filter(
      (time) => now - time < SCALING_WINDOW_MS,
    );
    if (environments.coldStarts.length >= SCALING_ENVIRONMENTS) {
      const retryAfter = Math.ceil((environments.coldStarts[0] + SCALING_WINDOW_MS - now) / 1000);
      return new TooManyRequestsException(
        "ConcurrentInvocationLimitExceeded",
        Math.max(1, retryAfter),
      );
    }
    return undefined;
  }

  #create(resolved: ResolvedFunction, environments: FunctionEnvironments): ExecutionEnvironment {
    const environment = new ExecutionEnvironment(resolved, this.#deps);
    environments.all.add(environment);
    environments.coldStarts.push(this.#clock.now());
    const lifetimeMs = resolved.config.simulator.maxLifetimeSeconds * 1000;
    environments.lifetimeTimers.set(
      environment,
      this.#clock.setTimeout(() => this.#expire(environment), lifetimeMs),
    );
    this.#logger.info(
      { functionName: resolved.config.functionName, environmentId: environment.environmentId },
      "cold start",
    );
    return environment;
  }

  async #run(
    environment: ExecutionEnvironment,
    cold: boolean,
    invocation: PoolInvocation,
  ): Promise<EnvironmentInvokeResult> {
    let initDurationMs: number | undefined;
    if (cold) {
      // The INIT phase is real work too: a virtual clock must not jump while it runs.
      const release = this.#clock.hold();
      try {
        const started = await environment.start();
        initDurationMs = started.initDurationMs;
      } finally {
        release();
      }
    }
    const result = await environment.invoke({
      requestId: invocation.requestId,
      payload: invocation.payload,
      clientContext: invocation.clientContext,
      invokedFunctionArn: environment.resolved.invokedFunctionArn,
      coldStart: cold,
      initDurationMs,
    });
    return result;
  }

  #release(environment: ExecutionEnvironment): void {
    const environments = this.#environmentsOf(environment.resolved.config.functionName);
    if (environment.status === "gone" || environment.status === "shutting-down") {
      this.#forget(environment);
      return;
    }
    const outdated = this.#isOutdated(environment);
    if (environment.drainReason || outdated || this.#closed) {
      void this.#retire(
        environment,
        environment.drainReason ?? (outdated ? "recycled" : "shutdown"),
      );
      return;
    }
    if (environment.status !== "idle") return;

    // Reported once settled, so listeners see the environment idle with its resets counted.
    this.#listener.environmentChanged(environment.info());
    environments.idle.push(environment);
    const keepAliveMs = environment.resolved.config.simulator.keepAliveSeconds * 1000;
    environments.reclaimTimers.set(
      environment,
      this.#clock.setTimeout(() => this.#reclaim(environment), keepAliveMs),
    );
  }

  #reclaim(environment: ExecutionEnvironment): void {
    const environments = this.#environmentsOf(environment.resolved.config.functionName);
    const index = environments.idle.indexOf(environment);
    if (index < 0) return;
    environments.idle.splice(index, 1);
    void this.#retire(environment, "reclaimed");
  }

  #expire(environment: ExecutionEnvironment): void {
    const environments = this.#environmentsOf(environment.resolved.config.functionName);
    const index = environments.idle.indexOf(environment);
    if (index >= 0) {
      environments.idle.splice(index, 1);
      void this.#retire(environment, "lifetime");
      return;
    }
    environment.drainReason = "lifetime";
  }

  #isOutdated(environment: ExecutionEnvironment): boolean {
    try {
      const current = this.#resolver.resolve(
        environment.resolved.config.functionName,
        environment.resolved.version,
      );
      return current.configurationId !== environment.resolved.configurationId;
    } catch {
      return true;
    }
  }

  /** Drains every environment whose configuration is no longer current. */
  #recycleOutdated(functionName: string): void {
    const environments = this.#functions.get(functionName);
    if (!environments) return;
    for (const environment of [...environments.all]) {
      if (!this.#isOutdated(environment)) continue;
      const index = environments.idle.indexOf(environment);
      if (index >= 0) {
        environments.idle.splice(index, 1);
        void this.#retire(environment, "recycled");
      } else {
        environment.drainReason = "recycled";
      }
    }
  }

  async #shutdownFunction(functionName: string, reason: string): Promise<void> {
    const environments = this.#functions.get(functionName);
    if (!environments) return;
    environments.idle = [];
    await Promise.all(
      [...environments.all].map((environment) => this.#retire(environment, reason)),
    );
  }

  async #retire(environment: ExecutionEnvironment, reason: string): Promise<void> {
    const environments = this.#environmentsOf(environment.resolved.config.functionName);
    const index = environments.idle.indexOf(environment);
    if (index >= 0) environments.idle.splice(index, 1);
    this.#logger.info(
      {
        functionName: environment.resolved.config.functionName,
        environmentId: environment.environmentId,
        reason,
      },
      "environment retired",
    );
    await environment.shutdown(reason);
    this.#forget(environment);
  }

  #forget(environment: ExecutionEnvironment): void {
    const environments = this.#environmentsOf(environment.resolved.config.functionName);
    if (!environments.all.delete(environment)) return;
    this.#clock.clearTimeout(environments.reclaimTimers.get(environment));
    this.#clock.clearTimeout(environments.lifetimeTimers.get(environment));
    environments.reclaimTimers.delete(environment);
    environments.lifetimeTimers.delete(environment);
    const info = environment.info();
    this.#gone.push(info);
    if (this.#gone.length > GONE_HISTORY) this.#gone.shift();
    this.#listener.environmentChanged(info);
  }

  #environmentsOf(functionName: string): FunctionEnvironments {
    let environments = this.#functions.get(functionName);
    if (!environments) {
      environments = {
        all: new Set(),
        idle: [],
        settling: new Map(),
        inFlight: 0,
        coldStarts: [],
        reclaimTimers: new Map(),
        lifetimeTimers: new Map(),
      };
      this.#functions.set(functionName, environments);
    }
    return environments;
  }
}
