/**
 * Follows the executions a replay started: polls DescribeExecution in real
 * time until each one stops, and reads the batch report it returns. It
 * redrives a failed execution once, either at once (`redriveAtOnce`) or when
 * the driver calls {@link ExecutionTracker.redrive}.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  RedriveExecutionCommand,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import { classifyFailure } from "../report/failure-kinds.ts";
import type { ExecutionStatus, ExecutionSummary } from "../report/run-data.ts";

const POLL_INTERVAL_MS = 250;
/** Failed documents whose error an execution summary keeps. */
const FAILED_DOCUMENT_ERRORS_KEPT = 5;
const POLL_CONCURRENCY = 16;

interface Tracked {
  summary: ExecutionSummary;
  redriving: boolean;
}

/** Counts for the progress line. */
export interface ExecutionCounts {
  started: number;
  done: number;
  /** Executions whose first attempt stopped in FAILED, TIMED_OUT or ABORTED. */
  failed: number;
  running: number;
  redriven: number;
  /** Documents the batch reports list as failed (caught per document). */
  failedDocuments: number;
  /** Documents of executions whose first attempt failed: no batch report lists which of them failed. */
  documentsInFailedExecutions: number;
}

/** A document a batch report lists as failed, and the execution it failed in. */
export interface FailedDocument {
  key: string;
  executionArn: string;
}

/** Tracks executions until they stop. */
export class ExecutionTracker {
  readonly executions: ExecutionSummary[] = [];
  /** Documents the batch reports list as failed, in the order they were seen. */
  readonly failedDocuments: FailedDocument[] = [];
  #sfn: SFNClient;
  #redriveAtOnce: boolean;
  #running = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #failedDocuments = 0;
  #idleWaiters: Array<() => void> = [];
  #pollErrors = 0;

  constructor(options: { sfn: SFNClient; redriveAtOnce: boolean }) {
    this.#sfn = options.sfn;
    this.#redriveAtOnce = options.redriveAtOnce;
  }

  /** Starts following an execution; `retryOf` marks a re-run of one failed document. */
  add(
    executionArn: string,
    startedAt: number,
    documents: number,
    options: { retryOf?: FailedDocument } = {},
  ): void {
    const summary: ExecutionSummary = {
      executionArn,
      startedAt,
      status: "RUNNING",
      documents,
      ...(options.retryOf && { retry: true, retryOf: { ...options.retryOf } }),
    };
    this.executions.push(summary);
    this.#running.set(executionArn, { summary, redriving: false });
    this.#schedule();
  }

  /**
   * Redrives a failed execution that is no longer running and follows it
   * again. Throws what RedriveExecution throws (ExecutionNotRedrivable...).
   */
  async redrive(summary: ExecutionSummary): Promise<void> {
    const redriven = await this.#sfn.send(
      new RedriveExecutionCommand({ executionArn: summary.executionArn }),
    );
    summary.redrivenAt = redriven.redriveDate?.getTime();
    this.#running.set(summary.executionArn, { summary, redriving: true });
    this.#schedule();
  }

  counts(): ExecutionCounts {
    const done = this.executions.filter((execution) => execution.status !== "RUNNING").length;
    const failedExecutions = this.executions.filter(
      (execution) => execution.status !== "RUNNING" && execution.status !== "SUCCEEDED",
    );
    return {
      started: this.executions.length,
      done,
      failed: failedExecutions.length,
      running: this.#running.size,
      redriven: this.executions.filter((execution) => execution.redrivenAt !== undefined).length,
      failedDocuments: this.#failedDocuments,
      documentsInFailedExecutions: failedExecutions.reduce(
        (sum, execution) => sum + execution.documents,
        0,
      ),
    };
  }

  /** Resolves when no execution is running (redrives included). */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops polling; running executions keep the status RUNNING in the report. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #schedule(): void {
    if (this.#timer || this.#polling || this.#running.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, POLL_INTERVAL_MS);
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    const tracked = [...this.#running.values()];
    for (let index = 0; index < tracked.length; index += POLL_CONCURRENCY) {
      await Promise.all(
        tracked.slice(index, index + POLL_CONCURRENCY).map((entry) => this.#check(entry)),
      );
    }
    this.#polling = false;
    if (this.#running.size === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
      return;
    }
    this.#schedule();
  }

  async #check(entry: Tracked): Promise<void> {
    const arn = entry.summary.executionArn;
    let described: DescribeExecutionCommandOutput;
    try {
      described = await this.#sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    } catch (error) {
      // A poll that fails is retried on the next round; persistent failures end in the report as RUNNING.
      this.#pollErrors++;
      if (this.#pollErrors % 100 === 1)
        console.warn(`DescribeExecution failed for ${arn}: ${(error as Error).message}`);
      return;
    }
    const status = described.status as ExecutionStatus;
    if (status === "RUNNING" || status === "PENDING_REDRIVE") return;

    if (entry.redriving) {
      entry.summary.redriveStatus = status;
      entry.summary.redriveStoppedAt = described.stopDate?.getTime();
      entry.summary.redriveError = described.error;
      entry.summary.redriveCause = described.cause?.slice(0, 1_000);
      this.#finish(arn, described.output);
      return;
    }
    entry.summary.status = status;
    // The service's start date, not the driver's: the first task may start before StartExecution returns.
    entry.summary.startedAt = described.startDate?.getTime() ?? entry.summary.startedAt;
    entry.summary.stoppedAt = described.stopDate?.getTime();
    entry.summary.error = described.error;
    entry.summary.cause = described.cause?.slice(0, 1_000);

    if (status !== "SUCCEEDED" && this.#redriveAtOnce) {
      try {
        await this.redrive(entry.summary);
        return;
      } catch (error) {
        console.warn(`RedriveExecution failed for ${arn}: ${(error as Error).message}`);
      }
    }
    this.#finish(arn, described.output);
  }

  #finish(executionArn: string, output: string | undefined): void {
    const entry = this.#running.get(executionArn);
    this.#running.delete(executionArn);
    if (!output) return;
    let report: {
      failedCount?: number;
      failed?: Array<{ key?: string; error?: string; cause?: string }>;
    };
    try {
      report = JSON.parse(output);
    } catch {
      return; // An output that is not the batch report has no document count.
    }
    if (typeof report.failedCount !== "number") return;
    this.#failedDocuments += report.failedCount;
    if (entry) {
      entry.summary.failedDocuments = report.failedCount;
      const kinds: Record<string, number> = {};
      for (const { error, cause } of report.failed ?? []) {
        const kind = classifyFailure({ errorType: error, message: cause });
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      entry.summary.failedDocumentKinds = kinds;
      const errors = (report.failed ?? []).slice(0, FAILED_DOCUMENT_ERRORS_KEPT);
      if (errors.length > 0) {
        entry.summary.failedDocumentErrors = errors.map(({ key, error, cause }) => ({
          key,
          error,
          cause: cause?.slice(0, 500),
        }));
      }
    }
    for (const document of report.failed ?? []) {
      if (typeof document.key === "string")
        this.failedDocuments.push({ key: document.key, executionArn });
    }
  }
}
