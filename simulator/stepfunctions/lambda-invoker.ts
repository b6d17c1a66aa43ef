import type { InvokeRequest, InvokeResult } from "../lambda/types.ts";

/**
 * Invoker that Lambda tasks call: the Lambda service in process (its
 * `invoke` method), or a replacement with the same contract. It throws LambdaError
 * subclasses (simulator/lambda/errors.ts) for throttles, unknown functions
 * and service faults, and returns `functionError: "Unhandled"` with a
 * `{errorType, errorMessage, trace}` payload when the function failed.
 */
export interface LambdaInvoker {
  invoke(request: InvokeRequest): Promise<InvokeResult>;
}

export type { InvokeRequest, InvokeResult };
