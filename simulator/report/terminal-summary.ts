/**
 * The summary a replay prints when it ends: counts, failures by kind with
 * their first occurrence, and the leak findings.
 */
import { formatDuration } from "../replay/durations.ts";
import type { RunReport } from "./build-report.ts";
import { counted } from "./counted.ts";
import type { RerunSummary } from "./reruns.ts";

/** Renders the report as plain text lines for a terminal. */
export function renderTerminalSummary(report: RunReport): string {
  const { clocks, invocations, environments } = report;
  const lines: string[] = [];
  const title = `Replay ${report.scenario.name} (seed ${report.scenario.seed}, ${report.backend} backend, speed ${report.speed})`;
  lines.push(report.interrupted ? `${title}: INTERRUPTED, partial report` : title);
  lines.push(
    `Simulated ${clocks.simulatedStartedAt} to ${clocks.simulatedEndedAt} (${formatDuration(clocks.simulatedSeconds * 1_000)}) ` +
      `in ${formatDuration(clocks.wallSeconds * 1_000)} of wall time: ${clocks.speedup.toFixed(0)} simulated seconds per wall second.`,
  );
  lines.push("");

  lines.push(
    ...table(
      ["", "total", "details"],
      [
        ...drivenRows(report),
        [
          "invocations",
          String(invocations.total),
          `${invocations.cold} cold, ${invocations.warm} warm, ${invocations.failed} failed`,
        ],
        ...Object.entries(invocations.byFunction).map(([name, counts]) => [
          `  ${name}`,
          String(counts.total),
          `${counts.cold} cold, ${counts.failed} failed`,
        ]),
        ["environments", String(environments.started), describeEnvironments(environments)],
      ],
    ),
  );
  lines.push("");

  if (report.failures.length === 0) {
    lines.push("Failures: none.");
  } else {
    lines.push("Failures by kind (first occurrence):");
    lines.push(
      ...table(
        [
          "kind",
          "invocations",
          "executions",
          "documents",
          "function",
          "environment",
          "inv #",
          "simulated time",
          "error",
        ],
        report.failures.map((failure) => [
          failure.kind,
          String(failure.invocations),
          String(failure.executions),
          String(failure.documents),
          failure.first.functionName ?? "-",
          failure.first.environmentId ?? failure.first.noEnvironment ?? "-",
          failure.first.invocationNumber === undefined
            ? "-"
            : String(failure.first.invocationNumber),
          new Date(failure.first.at).toISOString().replace(".000Z", "Z"),
          truncate(failure.first.error, 70),
        ]),
      ),
    );
  }
  lines.push("");

  lines.push(...rerunLines(report));

  if (report.findings.length === 0) {
    lines.push("Leak findings: none.");
  } else {
    lines.push(`Leak findings (${counted(report.findings.length, "environment")}):`);
    for (const findings of report.findings.slice(0, 12)) {
      lines.push(
        `  ${findings.functionName} ${findings.environmentId} after ${counted(findings.invocations, "invocation")}:`,
      );
      for (const message of findings.messages) lines.push(`    ${message}`);
    }
    if (report.findings.length > 12)
      lines.push(`  ... ${report.findings.length - 12} more in report.json.`);
  }
  return lines.join("\n");
}

/**
 * Rows for what the scenario drove: executions and their documents, or, for
 * a scenario that drives a function, its documents' direct invocations.
 */
export function drivenRows(report: RunReport): string[][] {
  if (report.directInvocations)
    return [
      [
        "documents",
        String(report.directInvocations.submitted),
        describeDirectInvocations(report.directInvocations),
      ],
    ];
  return [
    ["executions", String(report.executions.started), describeExecutions(report)],
    ["documents", String(report.documents.submitted), describeDocuments(report)],
  ];
}

/** Describes the documents of a function-target scenario, e.g. "39 succeeded, 21 failed, one direct invocation of pdf-analyze each". */
export function describeDirectInvocations(
  direct: NonNullable<RunReport["directInvocations"]>,
): string {
  let text = `${direct.invoked - direct.failed} succeeded, ${direct.failed} failed, one direct invocation of ${direct.functionName} each`;
  const pending = direct.submitted - direct.invoked;
  if (pending > 0) text += `; ${pending} not invoked when the run ended`;
  return text;
}

/** Describes the executions row: first attempts, then redrives. */
export function describeExecutions(report: RunReport): string {
  const { executions } = report;
  const failed = executions.failed + executions.timedOut + executions.aborted;
  let text = `${executions.succeeded} succeeded, ${failed} failed`;
  if (executions.redriven > 0) {
    text += `; ${executions.redriven} redriven: ${executions.succeededAfterRedrive} succeeded, ${executions.failedAfterRedrive} failed again`;
  } else if (failed > 0) {
    text += ", none redriven";
  }
  if (executions.running > 0) text += `, ${executions.running} still running`;
  return text;
}

/** Describes the documents row. */
export function describeDocuments(report: RunReport): string {
  const { documents } = report;
  let text = `${documents.failed} failed and reported by their batch`;
  if (documents.inFailedExecutions > 0)
    text += `, ${documents.inFailedExecutions} in executions that failed`;
  if (documents.retried > 0) {
    text += `; ${documents.retried} re-run later: ${documents.retried - documents.failedOnRetry} succeeded, ${documents.failedOnRetry} failed again`;
  }
  return text;
}

/** Describes the environments row by how environments ended. */
export function describeEnvironments(environments: RunReport["environments"]): string {
  const parts = [
    `${environments.reclaimed} reclaimed`,
    `${environments.recycled} recycled`,
    counted(environments.reset, "reset"),
  ];
  if (environments.shutDown > 0)
    parts.push(`${environments.shutDown} shut down at the end of the run`);
  if (environments.live > 0) parts.push(`${environments.live} still running`);
  return parts.join(", ");
}

/**
 * Describes where a re-run's first attempt failed, e.g. "ENOSPC in pdf-split
 * on env 1a2b3c4d at its invocation 146", with the full environment id unless `short`.
 */
export function describeFailurePlace(failure: RerunSummary["failure"], short = true): string {
  if (!failure.environmentId) return `${failure.kind}, on no known environment`;
  const environmentId = short ? shortId(failure.environmentId) : failure.environmentId;
  return `${failure.kind} in ${failure.functionName} on env ${environmentId} at its invocation ${failure.invocationNumber}`;
}

/** Describes where a re-run landed, e.g. "pdf-split on fresh env 5e6f7a8b, invocation 1 (cold start)". */
export function describeLanding(rerun: RerunSummary): string {
  const landing = rerun.landings[0];
  if (!landing) return "no invocation";
  let age = "older env";
  if (landing.sameEnvironment) age = "the same env";
  else if (landing.fresh) age = "fresh env";
  const start = landing.coldStart ? "cold start" : "warm";
  return `${landing.functionName} on ${age} ${shortId(landing.environmentId)}, invocation ${landing.invocationNumber} (${start})`;
}

function rerunLines(report: RunReport): string[] {
  if (report.reruns.length === 0) return [];
  const passed = report.reruns.filter((rerun) => rerun.passed).length;
  const fresh = report.reruns.filter((rerun) => rerun.landings[0]?.fresh).length;
  const lines = [
    `Re-runs: ${report.reruns.length}, ${passed} passed; ${fresh} landed on a fresh environment.`,
  ];
  lines.push(
    ...table(
      ["execution", "first attempt failed", "at", "re-run", "landed on", "result"],
      report.reruns.map((rerun) => [
        rerun.document ? `${rerun.executionName} ${rerun.document}` : rerun.executionName,
        describeFailurePlace(rerun.failure),
        clockTime(rerun.failure.at),
        `${rerun.method} at ${clockTime(rerun.at)}`,
        describeLanding(rerun) + (rerun.exact ? "" : " (other executions ran at the same time)"),
        rerun.passed
          ? "passed"
          : `failed again${rerun.error ? `: ${truncate(rerun.error, 40)}` : ""}`,
      ]),
    ),
  );
  lines.push("");
  return lines;
}

/** Simulated time as "03-02 17:10:02" (UTC). */
export function clockTime(at: number): string {
  return new Date(at).toISOString().slice(5, 19).replace("T", " ");
}

/** Shortens an environment id to its first 8 characters, enough to tell a run's environments apart. */
export function shortId(environmentId: string): string {
  return environmentId.slice(0, 8);
}

function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Aligns rows into columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((name, column) =>
    Math.max(name.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join("  ")
      .trimEnd();
  return [format(header), format(widths.map((width) => "-".repeat(width))), ...rows.map(format)];
}
