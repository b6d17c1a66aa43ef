/**
 * The progress of a replay on the terminal: one line redrawn in place on a
 * TTY, plain lines every few seconds otherwise (CI logs, pipes).
 */
import { counted } from "../report/counted.ts";
import { formatDuration } from "./durations.ts";
import type { ReplayProgress } from "./replay-run.ts";

const PLAIN_INTERVAL_MS = 5_000;

/** Width used when the terminal reports none, or 0 (some ptys do): the classic 80 columns. */
const UNKNOWN_WIDTH = 80;

const SEPARATOR = " | ";

/** Invocations, environments, simulated time and wall time: the last four fields. */
const COUNT_AND_CLOCK_FIELDS = 4;

/** One field of the progress line, with a shorter form for narrow terminals. */
export interface ProgressField {
  text: string;
  short: string;
}

/**
 * Lists the fields of a progress line, most useful first: what was driven
 * and what failed, then invocations and environments, then the clocks.
 */
export function progressFields(progress: ReplayProgress): ProgressField[] {
  const arrivals = `arrivals ${progress.arrivalsStarted}/${progress.arrivalsTotal}`;
  const fields: ProgressField[] = [{ text: arrivals, short: arrivals }];
  if (progress.target === "function") {
    const documents = `docs ${progress.documentsDone}/${progress.documentsStarted} invoked, ${progress.documentsFailed} failed`;
    fields.push({
      text: documents,
      short: `docs ${progress.documentsDone}/${progress.documentsStarted}, ${progress.documentsFailed} failed`,
    });
  } else {
    const executions = `exec ${progress.executionsDone}/${progress.executionsStarted} done, ${progress.executionsFailed} failed`;
    const redriven =
      progress.executionsRedriven > 0 ? `, ${progress.executionsRedriven} redriven` : "";
    fields.push({
      text: executions + redriven,
      short: `exec ${progress.executionsDone}/${progress.executionsStarted}, ${progress.executionsFailed} failed`,
    });
    const documents = `docs ${progress.documentsFailed} failed`;
    const inFailed =
      progress.documentsInFailedExecutions > 0
        ? `, ${progress.documentsInFailedExecutions} in failed exec`
        : "";
    fields.push({ text: documents + inFailed, short: documents });
  }
  const simulated = new Date(progress.simulatedNow).toISOString();
  fields.push(
    {
      text: `${counted(progress.invocations, "invocation")} (${progress.invocationsPerSecond.toFixed(1)}/s)`,
      short: `inv ${progress.invocations}`,
    },
    {
      text: counted(progress.liveEnvironments, "live env"),
      short: counted(progress.liveEnvironments, "env"),
    },
    {
      text: `sim ${simulated.slice(5, 19).replace("T", " ")}Z`,
      short: `sim ${simulated.slice(11, 16)}Z`,
    },
    {
      text: `wall ${formatDuration(progress.wallMs)}`,
      short: `wall ${formatDuration(progress.wallMs)}`,
    },
  );
  return fields;
}

/**
 * Formats one progress line no wider than `width` characters. When the
 * whole line is too wide, the invocation, environment and clock fields take
 * their short form, starting from the last (the least useful). If it is
 * still too wide, they are dropped from the end, and only then do the
 * arrival, execution and document fields shorten. A first field that alone
 * is too wide is cut with "…". Without a width the line contains every field in full.
 */
export function formatProgress(progress: ReplayProgress, width = Number.POSITIVE_INFINITY): string {
  const texts = progressFields(progress).map((field) => field.text);
  const shorts = progressFields(progress).map((field) => field.short);
  const fits = () => texts.join(SEPARATOR).length <= width;

  const core = texts.length - COUNT_AND_CLOCK_FIELDS;

  for (let index = texts.length - 1; index >= core && !fits(); index--)
    texts[index] = shorts[index];
  while (texts.length > core && !fits()) texts.pop();
  for (let index = core - 1; index >= 0 && !fits(); index--) texts[index] = shorts[index];
  while (texts.length > 1 && !fits()) texts.pop();

  const line = texts.join(SEPARATOR);
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}

/** Returns the usable width of a terminal: its columns, or 80 when it reports none or 0. */
export function terminalWidth(columns: number | undefined): number {
  return columns && columns > 0 ? columns : UNKNOWN_WIDTH;
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
    if (this.#stream.isTTY) {
      // One column less than the terminal, so the cursor never wraps to a new line and breaks the redraw.
      const line = formatProgress(progress, terminalWidth(this.#stream.columns) - 1);
      this.#stream.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
      return;
    }
    if (progress.wallMs - this.#lastPlain >= PLAIN_INTERVAL_MS) {
      this.#lastPlain = progress.wallMs;
      this.#stream.write(`${formatProgress(progress)}\n`);
    }
  }

  /** Ends the redrawn line so later output starts on a fresh line. */
  finish(): void {
    if (this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }
}
