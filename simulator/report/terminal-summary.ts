/**
 * The summary a replay prints when it ends: counts, failures by kind with
 * their first occurrence, and the leak findings.
 */
import { formatDuration } from "../replay/durations.ts";
import type { RunReport } from "./build-report.ts";

/** Renders the report as plain text lines for a terminal. */
export function renderTerminalSummary(report: RunReport): string {
  const { clocks, executions, invocations, environments } = report;
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
        [
          "executions",
          String(executions.started),
          `${executions.succeeded} succeeded, ${executions.failed + executions.timedOut + executions.aborted} failed, ` +
            `${executions.redriven} redriven (${executions.succeededAfterRedrive} succeeded on redrive)` +
            (executions.running > 0 ? `, ${executions.running} still running` : ""),
        ],
        [
          "documents",
          String(report.documents.submitted),
          `${report.documents.failed} failed inside executions` +
            (report.documents.retried > 0
              ? `, ${report.documents.retried} re-run later: ${report.documents.retried - report.documents.failedOnRetry} succeeded, ${report.documents.failedOnRetry} failed again`
              : ""),
        ],
        ["invocations", String(invocations.total), `${invocations.cold} cold, ${invocations.warm} warm, ${invocations.failed} failed`],
        ...Object.entries(invocations.byFunction).map(([name, counts]) => [
          `  ${name}`,
          String(counts.total),
          `${counts.cold} cold, ${counts.failed} failed`,
        ]),
        [
          "environments",
          String(environments.started),
          `${environments.reclaimed} reclaimed, ${environments.recycled} recycled, ${environments.reset} resets, ${environments.live} live at the end`,
        ],
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
        ["kind", "invocations", "executions", "documents", "function", "environment", "inv #", "simulated time", "error"],
        report.failures.map((failure) => [
          failure.kind,
          String(failure.invocations),
          String(failure.executions),
          String(failure.documents),
          failure.first.functionName ?? "-",
          failure.first.environmentId ?? "-",
          failure.first.invocationNumber === undefined ? "-" : String(failure.first.invocationNumber),
          new Date(failure.first.at).toISOString().replace(".000Z", "Z"),
          truncate(failure.first.error, 70),
        ]),
      ),
    );
  }
  lines.push("");

  if (report.findings.length === 0) {
    lines.push("Leak findings: none.");
  } else {
    lines.push(`Leak findings (${report.findings.length} environments):`);
    for (const findings of report.findings.slice(0, 12)) {
      lines.push(`  ${findings.functionName} ${findings.environmentId} after ${findings.invocations} invocations:`);
      for (const message of findings.messages) lines.push(`    ${message}`);
    }
    if (report.findings.length > 12) lines.push(`  ... ${report.findings.length - 12} more in report.json.`);
  }
  return lines.join("\n");
}

function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Aligns rows into columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => (row[column] ?? "").length)));
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join("  ")
      .trimEnd();
  return [format(header), format(widths.map((width) => "-".repeat(width))), ...rows.map(format)];
}
