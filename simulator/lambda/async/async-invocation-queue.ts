import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { ClockTimer } from "../../clock.ts";
import type { LambdaServiceLike } from "../api/service-like.ts";
import { LambdaError, ResourceNotFoundException } from "../errors.ts";
import type { InvokeResult } from "../types.ts";
import {
  appendRecord,
  type DestinationCondition,
  type DestinationRecord,
  destinationTarget,
  payloadValue,
} from "./destinations.ts";

// Lambda retries a function error twice, about one minute before the second
// attempt and two minutes before the third. Throttles and system errors back
// off from one second up to five minutes. Neither goes on past
// MaximumEventAgeInSeconds, six hours by default.
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
const DEFAULT_RETRY_ATTEMPTS = 2;
const DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600;
const FUNCTION_ERROR_DELAYS_MS = [60_000, 120_000];
const THROTTLE_FIRST_DELAY_MS = 1_000;
const THROTTLE_MAX_DELAY_MS = 300_000;

/** One event waiting in, or moving through, the queue. */
interface QueuedEvent {
  requestId: string;
  functionName: string;
  qualifier?: string;
  payload: Buffer;
  enqueuedAt: number;
  /** Attempts that reached the function. */
  invokeCount: number;
  /** Consecutive throttles or system errors, for the back-off. */
  throttles: number;
}

/** Retry and destination settings of one event, read from its function's event invoke config. */
interface EventSettings {
  maxRetries: number;
  maxAgeMs: number;
  onSuccess?: string;
  onFailure?: string;
}

/** Counters of the queue, for introspection and benchmarks. */
export interface AsyncQueueStats {
  queued: number;
  inFlight: number;
  waitingRetry: number;
  succeeded: number;
  failed: number;
  retries: number;
}

/** Options of {@link AsyncInvocationQueue}. */
export interface AsyncInvocationQueueOptions {
  service: LambdaServiceLike;
  /** Events dispatched at the same time; the service throttles beyond its concurrency. */
  maxConcurrency?: number;
  logger?: Logger;
}

/**
 * Lambda's internal queue for Event invocations: it dispatches events to the
 * service, retries function errors and requeues throttles as Lambda does, and
 * sends records to OnSuccess / OnFailure destinations. Every wait runs on the
 * simulator clock, so a replay compresses retry delays.
 */
export class AsyncInvocationQueue {
  readonly #service: LambdaServiceLike;
  readonly #maxConcurrency: number;
  readonly #logger: Logger;
  #pending: QueuedEvent[] = [];
  #head = 0;
  #inFlight = 0;
  #retryTimers = new Set<ClockTimer>();
  #idleWaiters: Array<() => void> = [];
  #closed = false;
  #stats = { succeeded: 0, failed: 0, retries: 0 };

  constructor(options: AsyncInvocationQueueOptions) {
    this.#service = options.service;
    this.#maxConcurrency = options.maxConcurrency ?? 32;
    this.#logger = (options.logger ?? options.service.registry.logger).child({
      component: "async-queue",
    });
  }

  get #clock() {
    return this.#service.registry.clock;
  }

  /**
   * Queues an Event invocation and returns its request id at once. The
   * function must exist; the caller has already checked the payload size.
   */
  enqueue(request: {
    functionName: string;
    qualifier?: string;
    payload: Buffer;
    requestId?: string;
  }): string {
    const requestId = request.requestId ?? randomUUID();
    this.#pending.push({
      requestId,
      functionName: request.functionName,
      qualifier: request.qualifier,
      payload: request.payload,
      enqueuedAt: this.#clock.now(),
      invokeCount: 0,
      throttles: 0,
    });
    this.#pump();
    return requestId;
  }

  /** Current counters. */
  stats(): AsyncQueueStats {
    return {
      queued: this.#pending.length - this.#head,
      inFlight: this.#inFlight,
      waitingRetry: this.#retryTimers.size,
      ...this.#stats,
    };
  }

  /** Resolves once nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops queued events and cancels pending retries; running attempts finish. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#retryTimers) this.#clock.clearTimeout(timer);
    this.#retryTimers.clear();
    this.#pending = [];
    this.#head = 0;
    this.#notifyIdle();
  }

  #isIdle(): boolean {
    return (
      this.#pending.length === this.#head && this.#inFlight === 0 && this.#retryTimers.size === 0
    );
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #pump(): void {
    while (
      !this.#closed &&
      this.#inFlight < this.#maxConcurrency &&
      this.#head < this.#pending.length
    ) {
      const event = this.#pending[this.#head++];
      this.#inFlight++;
      void this.#dispatch(event).finally(() => {
        this.#inFlight--;
        this.#pump();
        this.#notifyIdle();
      });
    }
    // Compact the array once the consumed prefix dominates it.
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }

  async #dispatch(event: QueuedEvent): Promise<void> {
    const release = this.#clock.hold();
    try {
      await this.#attempt(event);
    } catch (error) {
      this.#logger.error(
        { requestId: event.requestId, err: error },
        "asynchronous invocation handling failed",
      );
    } finally {
      release();
    }
  }

  async #attempt(event: QueuedEvent): Promise<void> {
    const settings = this.#settings(event);
    if (this.#clock.now() - event.enqueuedAt > settings.maxAgeMs) {
      await this.#finish(event, "EventAgeExceeded", undefined, settings);
      return;
    }

    let result: InvokeResult;
    try {
      result = await this.#service.invoke({
        functionName: event.functionName,
        qualifier: event.qualifier,
        payload: event.payload,
        invocationType: "RequestResponse",
        requestId: event.requestId,
      });
    } catch (error) {
      await this.#handleSystemError(event, error, settings);
      return;
    }

    event.invokeCount++;
    event.throttles = 0;
    if (!result.functionError) {
      await this.#finish(event, "Success", result, settings);
      return;
    }
    if (event.invokeCount > settings.maxRetries) {
      await this.#finish(event, "RetriesExhausted", result, settings);
      return;
    }

    const delay =
      FUNCTION_ERROR_DELAYS_MS[
        Math.min(event.invokeCount - 1, FUNCTION_ERROR_DELAYS_MS.length - 1)
      ];
    if (this.#clock.now() + delay - event.enqueuedAt > settings.maxAgeMs) {
      await this.#finish(event, "EventAgeExceeded", result, settings);
      return;
    }
    this.#logger.debug(
      { requestId: event.requestId, attempt: event.invokeCount, delayMs: delay },
      "function error, retry scheduled",
    );
    this.#retryLater(event, delay);
  }

  async #handleSystemError(
    event: QueuedEvent,
    error: unknown,
    settings: EventSettings,
  ): Promise<void> {
    const retryable =
      error instanceof LambdaError && (error.statusCode === 429 || error.statusCode >= 500);
    if (!retryable) {
      // The function was deleted or the request can never succeed: Lambda
      // discards such events.
      const reason =
        error instanceof ResourceNotFoundException ? "function not found" : "invocation rejected";
      this.#logger.warn(
        { requestId: event.requestId, functionName: event.functionName, err: error },
        `asynchronous event discarded: ${reason}`,
      );
      this.#stats.failed++;
      return;
    }

    const delay = Math.min(THROTTLE_FIRST_DELAY_MS * 2 ** event.throttles, THROTTLE_MAX_DELAY_MS);
    event.throttles++;
    if (this.#clock.now() + delay - event.enqueuedAt > settings.maxAgeMs) {
      await this.#finish(event, "EventAgeExceeded", undefined, settings);
      return;
    }
    this.#retryLater(event, delay);
  }

  #retryLater(event: QueuedEvent, delayMs: number): void {
    if (this.#closed) return;
    this.#stats.retries++;
    const timer = this.#clock.setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#closed) return;
      this.#pending.push(event);
      this.#pump();
      this.#notifyIdle();
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  #settings(event: QueuedEvent): EventSettings {
    let config: ReturnType<LambdaServiceLike["registry"]["eventInvokeConfig"]>;
    try {
      config = this.#service.registry.eventInvokeConfig(event.functionName, event.qualifier);
    } catch {
      config = undefined;
    }
    return {
      maxRetries: config?.maximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
      maxAgeMs: (config?.maximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000,
      onSuccess: config?.destinationConfig?.OnSuccess?.Destination,
      onFailure: config?.destinationConfig?.OnFailure?.Destination,
    };
  }

  async #finish(
    event: QueuedEvent,
    condition: DestinationCondition,
    result: InvokeResult | undefined,
    settings: EventSettings,
  ): Promise<void> {
    if (condition === "Success") this.#stats.succeeded++;
    else {
      this.#stats.failed++;
      this.#logger.info(
        { requestId: event.requestId, functionName: event.functionName, condition },
        "asynchronous invocation failed",
      );
    }

    const destination = condition === "Success" ? settings.onSuccess : settings.onFailure;
    if (!destination) return;

    const executedVersion = result?.executedVersion ?? "$LATEST";
    const record: DestinationRecord = {
      version: "1.0",
      timestamp: new Date(this.#clock.now()).toISOString(),
      requestContext: {
        requestId: event.requestId,
        functionArn: `${this.#service.registry.functionArn(event.functionName)}:${executedVersion}`,
        condition,
        approximateInvokeCount: event.invokeCount,
      },
      requestPayload: payloadValue(event.payload),
      responseContext: {
        statusCode: result?.statusCode ?? 0,
        executedVersion,
        functionError: result?.functionError,
      },
      responsePayload: result ? payloadValue(result.payload) : undefined,
    };
    await this.#deliver(destination, record);
  }

  async #deliver(destination: string, record: DestinationRecord): Promise<void> {
    const target = destinationTarget(destination, this.#service.registry.dataDir);
    if (target.kind === "file") {
      await appendRecord(target.file, record);
      return;
    }
    // Lambda invokes a destination function asynchronously.
    this.enqueue({
      functionName: target.functionName,
      qualifier: target.qualifier,
      payload: Buffer.from(JSON.stringify(record)),
    });
  }
}
