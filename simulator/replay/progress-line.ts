/**
 * The progress of a replay on the terminal: one line redrawn in place on a
 * TTY, plain lines every few seconds otherwise (CI logs, pipes).
 */
import { formatDuration } from "./durations.ts";
import type { ReplayProgress } from "./replay-run.ts";

const PLAIN_INTERVAL_MS = 5_000;

/** Formats one progress line. */
export function formatProgress(progress: ReplayProgress): string {
  const simulated = new Date(progress.simulatedNow).toISOString().slice(0, 19).replace("T", " ");
  return (
    `sim ${simulated}Z | wall ${formatDuration(progress.wallMs)} | arrivals ${progress.arrivalsStarted}/${progress.arrivalsTotal} | ` +
    `executions ${progress.executionsDone}/${progress.executionsStarted} done, ${progress.executionsFailed} failed` +
    (progress.executionsRedriven > 0 ? `, ${progress.executionsRedriven} redriven` : "") +
    ` | documents ${progress.documentsFailed} failed` +
    (progress.documentsInFailedExecutions > 0 ? `, ${progress.documentsInFailedExecutions} in failed executions` : "") +
    " | " +
    `${progress.invocations} invocations, ${progress.invocationsPerSecond.toFixed(1)}/s | ${progress.liveEnvironments} live environments`
  );
}

/** Writes progress lines to a stream. */
export class ProgressLine {
  #stream: NodeJS.WriteStream;
  #lastPlain = 0;
  #drawn = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
  }

  update(progress: ReplayProgress): void {
    const line = formatProgress(progress);
    if (this.#stream.isTTY) {
      const width = this.#stream.columns ?? 160;
      this.#stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
      this.#drawn = true;
      return;
    }
    if (progress.wallMs - this.#lastPlain >= PLAIN_INTERVAL_MS) {
      this.#lastPlain = progress.wallMs;
      this.#stream.write(`${line}\n`);
    }
  }

  /** Ends the redrawn line so later output starts on a fresh line. */
  finish(): void {
    if (this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }
}
