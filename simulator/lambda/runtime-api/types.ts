/**
 * The contract between an execution environment and its Runtime API server.
 * The server speaks AWS's Runtime API to the runtime inside the sandbox, and
 * the environment uses only these calls and outcomes.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */

/** One event handed to the runtime through `GET /runtime/invocation/next`. */
export interface RuntimeInvocation {
  requestId: string;
  payload: Buffer;
  /** Epoch milliseconds, sent as Lambda-Runtime-Deadline-Ms. */
  deadlineMs: number;
  invokedFunctionArn: string;
  /** Sent as Lambda-Runtime-Trace-Id. */
  traceId: string;
  /** JSON text, sent as Lambda-Runtime-Client-Context when present. */
  clientContext?: string;
  /** JSON text, sent as Lambda-Runtime-Cognito-Identity when present. */
  cognitoIdentity?: string;
}

/** Outcome the runtime reported for one invocation. */
export type RuntimeInvocationOutcome =
  /** `POST /runtime/invocation/{id}/response`. */
  | { kind: "response"; payload: Buffer }
  /** `POST /runtime/invocation/{id}/error`; errorType from Lambda-Runtime-Function-Error-Type. */
  | { kind: "error"; errorType: string | undefined; payload: Buffer }
  /** A response above the 6 MiB limit; the runtime got 413. */
  | { kind: "response-too-large"; bytes: number };

/** Outcome the runtime reported at the end of the init phase. */
export type RuntimeInitOutcome =
  /** The runtime asked for its first event: init is done. */
  | { kind: "ready" }
  /** `POST /runtime/init/error`. */
  | { kind: "init-error"; errorType: string | undefined; payload: Buffer };

/** A running Runtime API endpoint for one environment. */
export interface RuntimeApi {
  readonly host: string;
  readonly port: number;
  /** Resolves when the runtime finishes init: first `next` call or `init/error`. */
  waitForInit(): Promise<RuntimeInitOutcome>;
  /**
   * Resolves once the runtime has called `next` and waits for an event: the
   * moment Lambda freezes the environment. Also resolves on a reset or close.
   */
  waitForNext(): Promise<void>;
  /** Queues one event for `next` and resolves with the runtime's outcome. */
  invoke(invocation: RuntimeInvocation): Promise<RuntimeInvocationOutcome>;
  /**
   * Forgets the current runtime process (it timed out, crashed or is being
   * reset): a pending `invoke` rejects with `reason`, and the next process is
   * expected to init again. Calls from the old process get 403.
   */
  resetRuntime(reason: Error): void;
  close(): Promise<void>;
}
