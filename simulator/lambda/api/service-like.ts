import type { EventEmitter } from "node:events";
import type { FunctionRegistry } from "../function-registry.ts";
import type { EnvironmentInfo, InvocationRecord, InvokeRequest, InvokeResult } from "../types.ts";

/**
 * The part of the Lambda service that the control API, the asynchronous
 * queue and the admin API use. `LambdaService` implements it; tests may
 * pass any object of this shape.
 */
export interface LambdaServiceLike {
  readonly registry: FunctionRegistry;
  /**
   * Invokes synchronously. Throws LambdaError subclasses for throttles,
   * unknown functions and service failures.
   */
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  environments(functionName?: string): EnvironmentInfo[];
  invocations(functionName?: string): InvocationRecord[];
  /** Emits "invocation" (InvocationRecord) and "environment" (EnvironmentInfo). */
  readonly events: EventEmitter;
  /** Account-wide concurrency limit; Lambda's default quota is 1,000. */
  readonly accountConcurrency?: number;
}
