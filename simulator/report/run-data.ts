/**
 * Records of a replay, taken while it runs: the raw material of report.json and
 * report.html. Probe series are kept compact (numbers per invocation, with
 * descriptor targets only at the first and last probe of an environment).
 */
import type { EnvironmentFailures, EnvironmentLimits } from "../diagnostics/leak-findings.ts";
import type { InvocationCaller, InvocationOutcome } from "../lambda/types.ts";
import type { TmpFileGroup } from "../sandbox/backend.ts";
import type { ExecutionStatus } from "../stepfunctions/execution-status.ts";

/** One invocation, without its probe. */
export interface InvocationSummary {
  requestId: string;
  functionName: string;
  environmentId: string;
  invocationNumber: number;
  coldStart: boolean;
  /** Simulated epoch milliseconds. */
  startedAt: number;
  /** Real milliseconds the handler ran. */
  durationMs: number;
  outcome: InvocationOutcome;
  errorType?: string;
  errorMessage?: string;
  /** The execution attempt that made the call, when a state machine did. */
  caller?: InvocationCaller;
}

/** Resources after one invocation: n is the invocation number inside the environment. */
export interface SeriesPoint {
  n: number;
  at: number;
  descriptors: number;
  tmpBytes: number;
  tmpDeletedOpenBytes: number;
  /** Regular files visible in /tmp; absent in records made before it was kept. */
  tmpFiles?: number;
  residentBytes: number;
}

/** One execution environment over the run. */
export interface EnvironmentRecord {
  environmentId: string;
  functionName: string;
  createdAt: number;
  /** Simulated epoch milliseconds when it was seen gone. */
  endedAt?: number;
  status: string;
  endReason?: string;
  invocations: number;
  resets: number;
  limits: EnvironmentLimits;
  points: SeriesPoint[];
  firstTargets: string[];
  lastTargets: string[];
  /** /tmp files by name pattern at the first and last probe, when the backend lists them. */
  firstTmpGroups?: TmpFileGroup[];
  lastTmpGroups?: TmpFileGroup[];
  /** First ENOSPC and EMFILE failures and the runtime resets; absent in records made before it was kept. */
  failures?: EnvironmentFailures;
}

export type { ExecutionStatus };

/** One execution the driver started (or one direct invocation round, when driving a function). */
export interface ExecutionSummary {
  executionArn: string;
  /** Simulated epoch milliseconds. */
  startedAt: number;
  stoppedAt?: number;
  /** Status of the first attempt. */
  status: ExecutionStatus;
  error?: string;
  cause?: string;
  documents: number;
  /** Status after a redrive, when one was made. */
  redriveStatus?: ExecutionStatus;
  /** Simulated epoch milliseconds of the redrive. */
  redrivenAt?: number;
  redriveStoppedAt?: number;
  redriveError?: string;
  redriveCause?: string;
  /** Documents the execution's batch report lists as failed (each caught by its own Catch). */
  failedDocuments?: number;
  /** True for an execution that re-runs a failed document later. */
  retry?: boolean;
  /** The document such an execution re-runs, and the execution it failed in. */
  retryOf?: { executionArn: string; key: string };
  /** Failed documents of the batch report by failure kind (`throttle`, `EMFILE`, ...). */
  failedDocumentKinds?: Record<string, number>;
  /** The first few failed documents of the batch report, with their error and cause. */
  failedDocumentErrors?: Array<{ key?: string; error?: string; cause?: string }>;
}

/** A failure the driver saw on the API itself (a throttled Invoke, a rejected StartExecution). */
export interface DriverError {
  at: number;
  operation: string;
  functionName?: string;
  errorType: string;
  message: string;
}

/**
 * The documents of a scenario that drives one function directly
 * (`drive.target: function`), one Invoke per document and no executions.
 */
export interface DirectInvocations {
  functionName: string;
  /** Documents uploaded and queued for an Invoke. */
  submitted: number;
  /** Invokes that returned, whatever their result. */
  invoked: number;
  /** Invokes that returned a function error or were rejected by the API. */
  failed: number;
}

/** Everything one replay recorded. */
export interface RunData {
  scenario: { name: string; description: string; seed: number; file?: string };
  backend: string;
  /** `max` or a number of simulated seconds per real second. */
  speed: string;
  /** Wall-clock ISO time of the start. */
  wallStartedAt: string;
  wallMs: number;
  simulatedStartedAt: number;
  simulatedEndedAt: number;
  /** True when the run was stopped early (Ctrl-C); the report is partial. */
  interrupted: boolean;
  invocations: InvocationSummary[];
  environments: EnvironmentRecord[];
  executions: ExecutionSummary[];
  driverErrors: DriverError[];
  /** Set when the scenario drives a function directly instead of a state machine. */
  directInvocations?: DirectInvocations;
}
