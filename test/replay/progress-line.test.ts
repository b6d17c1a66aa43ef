import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  formatProgress,
  ProgressLine,
  terminalWidth,
} from "../../simulator/replay/progress-line.ts";
import type { ReplayProgress } from "../../simulator/replay/replay-run.ts";

function stateMachineProgress(overrides: Partial<ReplayProgress> = {}): ReplayProgress {
  return {
    target: "state-machine",
    simulatedNow: Date.parse("2026-03-02T15:00:00Z"),
    arrivalsStarted: 10,
    arrivalsTotal: 96,
    executionsStarted: 10,
    executionsDone: 9,
    executionsFailed: 3,
    executionsRedriven: 1,
    documentsStarted: 0,
    documentsDone: 0,
    documentsFailed: 2,
    documentsInFailedExecutions: 5,
    invocations: 30_000,
    invocationsPerSecond: 812.4,
    liveEnvironments: 13,
    wallMs: 30_000,
    ...overrides,
  };
}

function functionProgress(): ReplayProgress {
  return stateMachineProgress({
    target: "function",
    executionsStarted: 0,
    executionsDone: 0,
    executionsFailed: 0,
    executionsRedriven: 0,
    documentsStarted: 60,
    documentsDone: 59,
    documentsFailed: 21,
    documentsInFailedExecutions: 0,
  });
}

// A stream that reports itself as a terminal of the given width, and keeps what is written to it.
function terminal(columns: number | undefined): {
  stream: NodeJS.WriteStream;
  written: () => string;
} {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns });
  const chunks: string[] = [];
  (stream as unknown as PassThrough).on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, written: () => chunks.join("") };
}

describe("progress line fields", () => {
  it("labels failed executions and documents", () => {
    const line = formatProgress(stateMachineProgress());

    expect(line).toContain("exec 9/10 done, 3 failed, 1 redriven");
    expect(line).toContain("docs 2 failed, 5 in failed exec");
  });

  it("shows documents invoked and failed for a function target", () => {
    const line = formatProgress(functionProgress());

    expect(line).toContain("docs 59/60 invoked, 21 failed");
    expect(line).not.toContain("exec");
  });

  it("uses the singular for one", () => {
    const line = formatProgress(stateMachineProgress({ invocations: 1, liveEnvironments: 1 }));

    expect(line).toContain("1 invocation (");
    expect(line).toContain("1 live env |");
  });

  it("lists every field when no width is given", () => {
    const line = formatProgress(stateMachineProgress());

    expect(line).toContain("30000 invocations (812.4/s)");
    expect(line).toContain("13 live envs");
    expect(line).toContain("sim 03-02 15:00:00Z");
    expect(line).toContain("wall 30s");
  });
});

describe("progress line width", () => {
  it("fits 79 columns and keeps the failures", () => {
    for (const progress of [stateMachineProgress(), functionProgress()]) {
      const line = formatProgress(progress, 79);

      expect(line.length).toBeLessThanOrEqual(79);
      expect(line).toContain(progress.target === "function" ? "21 failed" : "docs 2 failed");
    }
  });

  it("drops the clocks before the counts", () => {
    const line = formatProgress(stateMachineProgress(), 100);

    expect(line).toContain("exec 9/10 done, 3 failed, 1 redriven");
    expect(line).toContain("inv 30000");
    expect(line).not.toContain("wall");
  });

  it("cuts a first field wider than the terminal with an ellipsis", () => {
    const line = formatProgress(stateMachineProgress(), 10);

    expect(line).toBe("arrivals …");
  });

  it("takes 0 or no columns as 80", () => {
    expect(terminalWidth(0)).toBe(80);
    expect(terminalWidth(undefined)).toBe(80);
    expect(terminalWidth(132)).toBe(132);
  });
});

describe("ProgressLine", () => {
  it("redraws the whole line on a terminal that reports 0 columns", () => {
    const { stream, written } = terminal(0);
    const progress = new ProgressLine(stream);

    progress.update(functionProgress());

    expect(written()).toBe(`\r\x1b[2K${formatProgress(functionProgress(), 79)}`);
    expect(written().endsWith("13 envs")).toBe(true);
  });

  it("writes at most columns - 1 characters on an 80-column terminal", () => {
    const { stream, written } = terminal(80);
    const progress = new ProgressLine(stream);

    progress.update(stateMachineProgress());
    progress.finish();

    const line = written().replace("\r\x1b[2K", "").replace(/\n$/, "");
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toContain("docs 2 failed");
    expect(written().endsWith("\n")).toBe(true);
  });
});
