/**
 * Turns the data of a replay into its report: counts, failures by kind with
 * their first occurrence, leak findings per environment and a timeline.
 */
import type { EnvironmentFindings } from "../diagnostics/leak-findings.ts";
import { findingsOfRecord } from "../diagnostics/record-findings.ts";
import { counted } from "./counted.ts";
import { describeError } from "./error-text.ts";
import { classifyFailure, FAILURE_KINDS, type FailureKind } from "./failure-kinds.ts";
import { placeExecutionFailure, type RerunSummary, summarizeReruns } from "./reruns.ts";
import type { DirectInvocations, EnvironmentRecord, RunData } from "./run-data.ts";

/** First occurrence of a kind of failure. */
export interface FirstOccurrence {
  /** Simulated epoch milliseconds. */
  at: number;
  functionName?: string;
  environmentId?: string;
  /** Invocation number inside that environment. */
  invocationNumber?: number;
  /** Reason no environment is named, when none is. */
  noEnvironment?: string;
  executionArn?: string;
  error: string;
}

/** Count and first occurrence of one kind of failure. */
export interface FailureKindSummary {
  kind: FailureKind;
  /** Failed invocations of this kind. */
  invocations: number;
  /** Failed executions whose error is of this kind. */
  executions: number;
  /** Documents that failed with this kind inside executions that succeeded (each caught by its own Catch). */
  documents: number;
  first: FirstOccurrence;
}

/** One bucket of the timeline, in simulated time. */
export interface TimelineBucket {
  start: number;
  /** Highest number of invocations running at once inside the bucket. */
  concurrency: number;
  invocations: number;
  coldStarts: number;
  failures: number;
  liveEnvironments: number;
}

/** The report of one replay, as written to report.json. */
export interface RunReport {
  scenario: RunData["scenario"];
  backend: string;
  speed: string;
  interrupted: boolean;
  clocks: {
    wallStartedAt: string;
    wallSeconds: number;
    simulatedStartedAt: string;
    simulatedEndedAt: string;
    simulatedSeconds: number;
    /** Simulated seconds per wall second. */
    speedup: number;
  };
  /** Executions by the status of their first attempt, and their redrives. */
  executions: {
    started: number;
    succeeded: number;
    failed: number;
    timedOut: number;
    aborted: number;
    running: number;
    redriven: number;
    succeededAfterRedrive: number;
    failedAfterRedrive: number;
  };
  /**
   * Documents: `failed` are those batch reports list as failed (each caught
   * by its own Catch), `inFailedExecutions` those of executions whose first
   * attempt failed (no report lists which of them failed), `retried` those
   * re-run later as new executions.
   */
  documents: {
    submitted: number;
    failed: number;
    inFailedExecutions: number;
    retried: number;
    failedOnRetry: number;
  };
  invocations: {
    total: number;
    cold: number;
    warm: number;
    failed: number;
    byFunction: Record<string, { total: number; cold: number; failed: number }>;
  };
  /** Environments by how they ended; `shutDown` were shut down with the simulator at the end, `live` were still running. */
  environments: {
    started: number;
    reclaimed: number;
    recycled: number;
    reset: number;
    shutDown: number;
    live: number;
  };
  failures: FailureKindSummary[];
  /** Redrives and document re-runs, with the environments they landed on. */
  reruns: RerunSummary[];
  findings: EnvironmentFindings[];
  timeline: TimelineBucket[];
  environmentSeries: EnvironmentRecord[];
  executionList: RunData["executions"];
  driverErrors: RunData["driverErrors"];
  /** Documents sent to one function by direct invocations, when the scenario drives a function instead of a state machine. */
  directInvocations?: DirectInvocations;
}

const TIMELINE_BUCKETS = 96;

/** Builds the report of a run. */
export function buildReport(run: RunData): RunReport {
  const simulatedMs = Math.max(0, run.simulatedEndedAt - run.simulatedStartedAt);
  const failedInvocations = run.invocations.filter(
    (invocation) => invocation.outcome !== "success",
  );

  const byFunction: RunReport["invocations"]["byFunction"] = {};
  for (const invocation of run.invocations) {
    byFunction[invocation.functionName] ??= { total: 0, cold: 0, failed: 0 };
    const entry = byFunction[invocation.functionName];
    entry.total++;
    if (invocation.coldStart) entry.cold++;
    if (invocation.outcome !== "success") entry.failed++;
  }

  const status = (value: string) =>
    run.executions.filter((execution) => execution.status === value).length;
  const redriven = run.executions.filter(
    (execution) => execution.redrivenAt !== undefined || execution.redriveStatus !== undefined,
  );
  const firstRuns = run.executions.filter((execution) => !execution.retry);
  const retries = run.executions.filter((execution) => execution.retry);
  const failedFirst = (status: string) => status !== "SUCCEEDED" && status !== "RUNNING";
  return {
    scenario: run.scenario,
    backend: run.backend,
    speed: run.speed,
    interrupted: run.interrupted,
    clocks: {
      wallStartedAt: run.wallStartedAt,
      wallSeconds: run.wallMs / 1_000,
      simulatedStartedAt: new Date(run.simulatedStartedAt).toISOString(),
      simulatedEndedAt: new Date(run.simulatedEndedAt).toISOString(),
      simulatedSeconds: simulatedMs / 1_000,
      speedup: run.wallMs > 0 ? simulatedMs / run.wallMs : 0,
    },
    executions: {
      started: run.executions.length,
      succeeded: status("SUCCEEDED"),
      failed: status("FAILED"),
      timedOut: status("TIMED_OUT"),
      aborted: status("ABORTED"),
      running: status("RUNNING"),
      redriven: redriven.length,
      succeededAfterRedrive: redriven.filter((execution) => execution.redriveStatus === "SUCCEEDED")
        .length,
      failedAfterRedrive: redriven.filter(
        (execution) =>
          execution.redriveStatus !== undefined && failedFirst(execution.redriveStatus),
      ).length,
    },
    documents: {
      submitted: firstRuns.reduce((sum, execution) => sum + execution.documents, 0),
      failed: firstRuns.reduce((sum, execution) => sum + (execution.failedDocuments ?? 0), 0),
      inFailedExecutions: firstRuns
        .filter((execution) => failedFirst(execution.status))
        .reduce((sum, execution) => sum + execution.documents, 0),
      retried: retries.reduce((sum, execution) => sum + execution.documents, 0),
      failedOnRetry: retries.reduce((sum, execution) => sum + (execution.failedDocuments ?? 0), 0),
    },
    invocations: {
      total: run.invocations.length,
      cold: run.invocations.filter((invocation) => invocation.coldStart).length,
      warm: run.invocations.filter((invocation) => !invocation.coldStart).length,
      failed: failedInvocations.length,
      byFunction,
    },
    environments: {
      started: run.environments.length,
      reclaimed: run.environments.filter((environment) => environment.endReason === "reclaimed")
        .length,
      recycled: run.environments.filter(
        (environment) =>
          environment.endReason === "recycled" || environment.endReason === "lifetime",
      ).length,
      reset: run.environments.reduce((sum, environment) => sum + environment.resets, 0),
      shutDown: run.environments.filter((environment) => environment.endReason === "shutdown")
        .length,
      live: run.environments.filter((environment) => environment.status !== "gone").length,
    },
    failures: summarizeFailures(run),
    reruns: summarizeReruns(run),
    findings: run.environments
      .map(findingsOfRecord)
      .filter((findings) => findings.messages.length > 0),
    timeline: buildTimeline(run),
    environmentSeries: run.environments,
    executionList: run.executions,
    driverErrors: run.driverErrors,
    ...(run.directInvocations && { directInvocations: run.directInvocations }),
  };
}

function summarizeFailures(run: RunData): FailureKindSummary[] {
  const kinds = new Map<FailureKind, FailureKindSummary>();
  const note = (
    kind: FailureKind,
    first: FirstOccurrence,
    field: "invocations" | "executions" | "documents",
    count = 1,
  ) => {
    let summary = kinds.get(kind);
    if (!summary) {
      summary = { kind, invocations: 0, executions: 0, documents: 0, first };
      kinds.set(kind, summary);
    }
    summary[field] += count;
    if (first.at < summary.first.at) summary.first = first;
  };

  for (const invocation of run.invocations) {
    if (invocation.outcome === "success") continue;
    const kind = classifyFailure({
      outcome: invocation.outcome,
      errorType: invocation.errorType,
      message: invocation.errorMessage,
    });
    note(
      kind,
      {
        at: invocation.startedAt,
        functionName: invocation.functionName,
        environmentId: invocation.environmentId,
        invocationNumber: invocation.invocationNumber,
        error:
          `${invocation.errorType ?? invocation.outcome}: ${invocation.errorMessage ?? ""}`.trim(),
      },
      "invocations",
    );
  }
  for (const execution of run.executions) {
    if (execution.status === "SUCCEEDED" || execution.status === "RUNNING") continue;
    const place = placeExecutionFailure(execution, run.invocations);
    note(
      place.kind,
      {
        at: place.at,
        functionName: place.functionName,
        environmentId: place.environmentId,
        invocationNumber: place.invocationNumber,
        executionArn: execution.executionArn,
        error: place.error,
      },
      "executions",
    );
  }
  for (const execution of run.executions) {
    const examples = execution.failedDocumentErrors ?? [];
    for (const [kind, count] of Object.entries(execution.failedDocumentKinds ?? {})) {
      const example = examples.find(
        (candidate) =>
          classifyFailure({ errorType: candidate.error, message: candidate.cause }) === kind,
      );
      const error = example
        ? `${example.key}: ${describeError(example.error, example.cause)}`
        : counted(count, "document");
      note(
        kind as FailureKind,
        {
          at: execution.stoppedAt ?? execution.startedAt,
          executionArn: execution.executionArn,
          error,
        },
        "documents",
        count,
      );
    }
  }
  for (const error of run.driverErrors) {
    note(
      classifyFailure({ errorType: error.errorType, message: error.message }),
      {
        at: error.at,
        functionName: error.functionName,
        error: `${error.errorType}: ${error.message}`,
      },
      "invocations",
    );
  }

  return FAILURE_KINDS.flatMap((kind) => {
    const summary = kinds.get(kind);
    if (!summary) return [];
    if (summary.first.environmentId === undefined)
      summary.first.noEnvironment = noEnvironmentReason(kind);
    return [summary];
  });
}

function noEnvironmentReason(kind: FailureKind): string {
  if (kind === "throttle")
    return "none: Lambda throttles a request before it assigns an environment";
  if (kind === "States.DataLimitExceeded") return "none: Step Functions rejects the payload itself";
  return "not known: no failed invocation matches this error";
}

function buildTimeline(run: RunData): TimelineBucket[] {
  const start = run.simulatedStartedAt;
  const span = Math.max(1, run.simulatedEndedAt - start);
  const width = span / TIMELINE_BUCKETS;
  const buckets: TimelineBucket[] = Array.from({ length: TIMELINE_BUCKETS }, (_, index) => ({
    start: Math.round(start + index * width),
    concurrency: 0,
    invocations: 0,
    coldStarts: 0,
    failures: 0,
    liveEnvironments: 0,
  }));
  const bucketOf = (at: number) =>
    Math.min(TIMELINE_BUCKETS - 1, Math.max(0, Math.floor((at - start) / width)));

  // Concurrency: a sweep over start and end events of every invocation.
  const events: Array<[number, number]> = [];
  for (const invocation of run.invocations) {
    const bucket = buckets[bucketOf(invocation.startedAt)];
    bucket.invocations++;
    if (invocation.coldStart) bucket.coldStarts++;
    if (invocation.outcome !== "success") bucket.failures++;
    events.push([invocation.startedAt, 1], [invocation.startedAt + invocation.durationMs, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  for (const [at, change] of events) {
    running += change;
    const bucket = buckets[bucketOf(at)];
    bucket.concurrency = Math.max(bucket.concurrency, running);
  }

  for (const environment of run.environments) {
    const lastPoint = environment.points[environment.points.length - 1];
    const end =
      environment.status === "gone"
        ? (environment.endedAt ?? lastPoint?.at ?? environment.createdAt)
        : run.simulatedEndedAt;
    for (let index = bucketOf(environment.createdAt); index <= bucketOf(end); index++)
      buckets[index].liveEnvironments++;
  }
  return buckets;
}
