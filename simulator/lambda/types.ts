/**
 * Types the Lambda service shares with its callers: the control API, Step
 * Functions tasks, the replay driver and users' tests.
 */

import type { ResourceSample } from "../sandbox/backend.ts";
import type { EnvironmentStatus } from "./environment-status.ts";
import type { FunctionConfig } from "./function-config.ts";

/** Invocation types of the Invoke API. */
export type InvocationType = "RequestResponse" | "Event" | "DryRun";

/** One request to invoke a function. */
export interface InvokeRequest {
  functionName: string;
  /** Version number, alias name or `$LATEST` (the default). */
  qualifier?: string;
  payload: Buffer;
  invocationType?: InvocationType;
  /** `Tail` returns the last 4 KB of the log in `logResult`. */
  logType?: "None" | "Tail";
  /** Base64 JSON, as the X-Amz-Client-Context header carries it. */
  clientContext?: string;
  /**
   * Request id to use instead of a new one. The asynchronous queue sets it so
   * every retry of an Event invocation keeps the id the caller received, as
   * on Lambda.
   */
  requestId?: string;
  /** The Step Functions execution that made the call. It is the simulator's own field, kept in the record. */
  caller?: InvocationCaller;
}

/** A Step Functions execution attempt that invoked a function. */
export interface InvocationCaller {
  executionArn: string;
  /** 0 for the first attempt, then 1, 2... for each RedriveExecution. */
  redriveCount: number;
}

/** Outcome of an invocation, from the simulator's point of view. */
export type InvocationOutcome =
  | "success"
  | "function-error"
  | "timeout"
  | "runtime-exit"
  | "out-of-memory"
  | "response-too-large"
  | "init-error";

/** The record kept for each invocation that reached an environment. */
export interface InvocationRecord {
  requestId: string;
  functionName: string;
  /** `$LATEST` or a version number. */
  version: string;
  environmentId: string;
  /** 1 for the first invocation of an environment. */
  invocationNumber: number;
  coldStart: boolean;
  /** Simulator-clock epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  initDurationMs?: number;
  outcome: InvocationOutcome;
  /** errorType of a failed invocation (`Runtime.OutOfMemory`, `Error`, ...). */
  errorType?: string;
  errorMessage?: string;
  /** Resources sampled right after the invocation. */
  probe?: ResourceSample;
  /** The Step Functions execution attempt that made the call, when one did. */
  caller?: InvocationCaller;
}

/** Result of a synchronous invocation, shaped like the Invoke API response. */
export interface InvokeResult {
  statusCode: number;
  payload: Buffer;
  /** Set to `Unhandled` when the function failed (X-Amz-Function-Error). */
  functionError?: "Unhandled";
  /** X-Amz-Executed-Version. */
  executedVersion: string;
  /** Base64 of the last 4 KB of the invocation's log, when Tail was requested. */
  logResult?: string;
  requestId: string;
  /** Undefined for Event and DryRun invocations, which return before running. */
  record?: InvocationRecord;
}

/** Introspection view of one environment. */
export interface EnvironmentInfo {
  environmentId: string;
  functionName: string;
  version: string;
  /** Hash of the code and configuration this environment was started with. */
  configurationId: string;
  status: EnvironmentStatus;
  createdAt: number;
  lastInvokedAt?: number;
  invocations: number;
  resets: number;
  /** Why it ended: `reclaimed`, `recycled`, `lifetime`, `shutdown`, `init-failed`... */
  endReason?: string;
  lastProbe?: ResourceSample;
  /** Log stream name, `YYYY/MM/DD/[$LATEST]<id>`. */
  logStreamName: string;
}

export type { FunctionConfig };

/** One line of a function's log, as CloudWatch Logs would store it. */
export interface LogEvent {
  functionName: string;
  /** `YYYY/MM/DD/[VERSION]<environmentId>`. */
  logStreamName: string;
  environmentId: string;
  /** Simulator-clock epoch milliseconds. */
  timestamp: number;
  /** The line without its trailing newline. */
  message: string;
  /** Request the line belongs to, when it was written during an invocation. */
  requestId?: string;
}

/** Destination of every log line that execution environments produce. */
export interface LogSink {
  append(event: LogEvent): void;
}
