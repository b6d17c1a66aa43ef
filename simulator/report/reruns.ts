/**
 * Re-runs of failed work and where they ran. Each redriven execution, and
 * each new execution for one failed document, gets a summary: the
 * invocation the first attempt failed on, the environments the re-run's
 * invocations landed on, whether those were fresh, and whether it passed.
 *
 * Invocation records name the execution attempt that made them (its ARN
 * and redrive count), so each attempt gets exactly its own invocations.
 * Records without that field (a Lambda invoked directly, or data from an
 * older simulator) are matched by simulated time instead: a re-run owns the
 * invocations that started between its start and its stop. There,
 * `exact` is false when another execution ran in that window.
 */
import { describeError } from "./error-text.ts";
import { classifyFailure, type FailureKind } from "./failure-kinds.ts";
import type {
  EnvironmentRecord,
  ExecutionStatus,
  ExecutionSummary,
  InvocationSummary,
  RunData,
} from "./run-data.ts";

/** Place of a failure, as far as the invocation records show it. */
export interface FailurePlace {
  /** Simulated epoch milliseconds. */
  at: number;
  kind: FailureKind;
  error: string;
  functionName?: string;
  environmentId?: string;
  invocationNumber?: number;
}

/** The first invocation a re-run made on one environment. */
export interface RerunLanding {
  functionName: string;
  environmentId: string;
  /** Invocation number inside the environment. */
  invocationNumber: number;
  coldStart: boolean;
  /** The environment the first attempt failed on. */
  sameEnvironment: boolean;
  /** Started after the first attempt failed, so it carries nothing of the load before the failure. */
  fresh: boolean;
  /** Invocations of the re-run on this environment, and how many failed. */
  invocations: number;
  failed: number;
}

/** One re-run and its first attempt. */
export interface RerunSummary {
  method: "redrive" | "new execution";
  /** Name of the execution that was re-run. */
  executionName: string;
  /** Name of the re-run's execution: the same for a redrive. */
  rerunExecutionName: string;
  /** The one document a new execution re-ran. */
  document?: string;
  failure: FailurePlace;
  /** Simulated start and stop of the re-run. */
  at: number;
  stoppedAt?: number;
  status: ExecutionStatus;
  passed: boolean;
  /** Error of a re-run that failed again. */
  error?: string;
  /** Landings of the re-run: those of the function that failed come first, then the other functions'. */
  landings: RerunLanding[];
  /** False when invocations were matched by time and other executions ran during the re-run, so some may be theirs. */
  exact: boolean;
}

/** Names an execution by the last part of its ARN. */
export function executionName(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(":") + 1);
}

/**
 * Finds the invocation a failed execution failed on: the last failed
 * invocation of the same kind that started while the execution ran.
 */
export function placeExecutionFailure(
  execution: ExecutionSummary,
  invocations: InvocationSummary[],
): FailurePlace {
  const kind = classifyFailure({ errorType: execution.error, message: execution.cause });
  const at = execution.stoppedAt ?? execution.startedAt;
  const error = describeError(execution.error ?? execution.status, execution.cause);
  const candidates = callerKnown(invocations)
    ? invocations.filter((invocation) => madeBy(invocation, execution.executionArn, "first"))
    : invocations;
  return placeFailure({ kind, at, error, from: execution.startedAt }, candidates);
}

/** Returns whether the records name their callers, which separates attempts exactly. */
function callerKnown(invocations: InvocationSummary[]): boolean {
  return invocations.some((invocation) => invocation.caller !== undefined);
}

function madeBy(
  invocation: InvocationSummary,
  executionArn: string,
  attempt: "first" | "redrive" | "any",
): boolean {
  const { caller } = invocation;
  if (caller?.executionArn !== executionArn) return false;
  if (attempt === "first") return caller.redriveCount === 0;
  if (attempt === "redrive") return caller.redriveCount > 0;
  return true;
}

/** Builds one summary per re-run the driver made, in the order they ran. */
export function summarizeReruns(run: RunData): RerunSummary[] {
  const byArn = new Map(run.executions.map((execution) => [execution.executionArn, execution]));
  const windows = run.executions.flatMap((execution) => attemptWindows(execution));
  const summaries: RerunSummary[] = [];

  for (const execution of run.executions) {
    if (execution.redrivenAt !== undefined) {
      const failure = placeExecutionFailure(execution, run.invocations);
      summaries.push(
        summarize(run, windows, {
          method: "redrive",
          rerunExecutionArn: execution.executionArn,
          executionName: executionName(execution.executionArn),
          rerunExecutionName: executionName(execution.executionArn),
          failure,
          at: execution.redrivenAt,
          stoppedAt: execution.redriveStoppedAt,
          status: execution.redriveStatus ?? "RUNNING",
          error:
            execution.redriveError === undefined
              ? undefined
              : describeError(execution.redriveError, execution.redriveCause),
        }),
      );
    }
    if (execution.retryOf) {
      const original = byArn.get(execution.retryOf.executionArn);
      summaries.push(
        summarize(run, windows, {
          method: "new execution",
          rerunExecutionArn: execution.executionArn,
          executionName: executionName(execution.retryOf.executionArn),
          rerunExecutionName: executionName(execution.executionArn),
          document: execution.retryOf.key,
          failure: placeDocumentFailure(execution.retryOf.key, original, run.invocations),
          at: execution.startedAt,
          stoppedAt: execution.stoppedAt,
          status: execution.status,
          error: retryError(execution),
          failedDocuments: execution.failedDocuments,
        }),
      );
    }
  }
  return summaries.sort((a, b) => a.at - b.at);
}

// Error of a document's re-run: its execution's own, else its batch report's.
function retryError(execution: ExecutionSummary): string | undefined {
  if (execution.error !== undefined) return describeError(execution.error, execution.cause);
  const documentError = execution.failedDocumentErrors?.[0];
  return documentError ? describeError(documentError.error, documentError.cause) : undefined;
}

type RerunFacts = Omit<RerunSummary, "passed" | "landings" | "exact"> & {
  /** ARN of the execution that ran the re-run: the failed one for a redrive. */
  rerunExecutionArn: string;
  /** Documents the re-run's batch report lists as failed (a new execution catches its document's failure). */
  failedDocuments?: number;
};

interface Window {
  name: string;
  from: number;
  to: number;
}

function summarize(run: RunData, windows: Window[], facts: RerunFacts): RerunSummary {
  const to = facts.stoppedAt ?? run.simulatedEndedAt;
  const exactly = callerKnown(run.invocations);
  const attempt = facts.method === "redrive" ? "redrive" : "any";
  const mine = exactly
    ? run.invocations.filter((invocation) => madeBy(invocation, facts.rerunExecutionArn, attempt))
    : run.invocations.filter(
        (invocation) => invocation.startedAt >= facts.at && invocation.startedAt <= to,
      );
  const overlapping = () =>
    windows.some(
      (window) =>
        window.from < to &&
        window.to > facts.at &&
        !(window.name === facts.rerunExecutionName && window.from === facts.at),
    );
  const environments = new Map(
    run.environments.map((environment) => [environment.environmentId, environment]),
  );
  const { document, failedDocuments, rerunExecutionArn: _arn, ...rest } = facts;

  return {
    ...rest,
    ...(document !== undefined && { document }),
    passed: facts.status === "SUCCEEDED" && !(failedDocuments && failedDocuments > 0),
    landings: landingsOf(mine, facts.failure, environments),
    exact: exactly || !overlapping(),
  };
}

function landingsOf(
  invocations: InvocationSummary[],
  failure: FailurePlace,
  environments: Map<string, EnvironmentRecord>,
): RerunLanding[] {
  const landings = new Map<string, RerunLanding>();
  for (const invocation of [...invocations].sort((a, b) => a.startedAt - b.startedAt)) {
    let landing = landings.get(invocation.environmentId);
    if (!landing) {
      const createdAt =
        environments.get(invocation.environmentId)?.createdAt ?? invocation.startedAt;
      landing = {
        functionName: invocation.functionName,
        environmentId: invocation.environmentId,
        invocationNumber: invocation.invocationNumber,
        coldStart: invocation.coldStart,
        sameEnvironment: invocation.environmentId === failure.environmentId,
        fresh: invocation.environmentId !== failure.environmentId && createdAt > failure.at,
        invocations: 0,
        failed: 0,
      };
      landings.set(invocation.environmentId, landing);
    }
    landing.invocations++;
    if (invocation.outcome !== "success") landing.failed++;
  }

  // The function that failed first leads: that is where the reader looks.
  const all = [...landings.values()];
  return [
    ...all.filter((landing) => landing.functionName === failure.functionName),
    ...all.filter((landing) => landing.functionName !== failure.functionName),
  ];
}

function attemptWindows(execution: ExecutionSummary): Window[] {
  const name = executionName(execution.executionArn);
  const windows = [
    { name, from: execution.startedAt, to: execution.stoppedAt ?? Number.POSITIVE_INFINITY },
  ];
  if (execution.redrivenAt !== undefined)
    windows.push({
      name,
      from: execution.redrivenAt,
      to: execution.redriveStoppedAt ?? Number.POSITIVE_INFINITY,
    });
  return windows;
}

function placeDocumentFailure(
  key: string,
  original: ExecutionSummary | undefined,
  invocations: InvocationSummary[],
): FailurePlace {
  const example = original?.failedDocumentErrors?.find((candidate) => candidate.key === key);
  const kind = classifyFailure({ errorType: example?.error, message: example?.cause });
  const at = original?.stoppedAt ?? original?.startedAt ?? 0;
  const error = example
    ? describeError(example.error, example.cause)
    : "the batch report lists this document as failed";
  const candidates =
    original && callerKnown(invocations)
      ? invocations.filter((invocation) => madeBy(invocation, original.executionArn, "any"))
      : invocations;
  return placeFailure({ kind, at, error, from: original?.startedAt ?? at }, candidates);
}

function placeFailure(
  facts: { kind: FailureKind; at: number; error: string; from: number },
  invocations: InvocationSummary[],
): FailurePlace {
  let match: InvocationSummary | undefined;
  for (const invocation of invocations) {
    if (
      invocation.outcome === "success" ||
      invocation.startedAt < facts.from ||
      invocation.startedAt > facts.at
    )
      continue;
    if (
      classifyFailure({
        outcome: invocation.outcome,
        errorType: invocation.errorType,
        message: invocation.errorMessage,
      }) !== facts.kind
    )
      continue;
    if (!match || invocation.startedAt >= match.startedAt) match = invocation;
  }
  const place: FailurePlace = { at: facts.at, kind: facts.kind, error: facts.error };
  if (!match) return place;
  return {
    ...place,
    at: match.startedAt,
    functionName: match.functionName,
    environmentId: match.environmentId,
    invocationNumber: match.invocationNumber,
  };
}
