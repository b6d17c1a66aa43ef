/**
 * The self-contained HTML report of a replay: inline CSS and inline SVG,
 * no scripts and nothing fetched, so it opens offline from the run folder.
 */
import { formatDuration } from "../replay/durations.ts";
import type { RunReport } from "./build-report.ts";
import { counted } from "./counted.ts";
import type { EnvironmentRecord, InvocationSummary } from "./run-data.ts";
import { type ChartSeries, compactNumber, escapeHtml, renderChart } from "./svg-chart.ts";
import {
  clockTime,
  describeEnvironments,
  describeFailurePlace,
  drivenRows,
} from "./terminal-summary.ts";

/** Environments drawn one by one; the rest are listed in report.json. */
const MAX_ENVIRONMENT_CHARTS = 24;
const MB = 1024 * 1024;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #dde; }
h3 { font-size: 14px; margin: 16px 0 4px; }
table { border-collapse: collapse; margin: 6px 0; } td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { color: #555; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #667; } .bad { color: #b3261e; font-weight: 600; } .ok { color: #1e7b34; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { background: #fafbfd; border: 1px solid #e4e7ee; }
.chart-title { font-size: 12px; font-weight: 600; fill: #1d2330; }
.tick { font-size: 10px; fill: #667; } .axis { stroke: #99a; stroke-width: 1; }
.limit { stroke: #b3261e; stroke-dasharray: 4 3; stroke-width: 1.2; } .limit-label { font-size: 10px; fill: #b3261e; }
.failure { stroke: #b3261e; stroke-width: 2; }
code { font-size: 12px; background: #f1f3f7; padding: 1px 4px; }
#reruns code { white-space: nowrap; }
`;

/** Renders report.html from the report and the invocation list (for failure markers). */
export function renderHtmlReport(report: RunReport, invocations: InvocationSummary[]): string {
  const sections = [
    header(report),
    summary(report),
    failures(report),
    reruns(report),
    findings(report),
    timeline(report),
    environments(report, invocations),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warmstate replay: ${escapeHtml(report.scenario.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
${sections.join("\n")}
</body></html>
`;
}

function header(report: RunReport): string {
  const { clocks } = report;
  return `<h1>Replay of <code>${escapeHtml(report.scenario.name)}</code>${report.interrupted ? ' <span class="bad">(interrupted: partial report)</span>' : ""}</h1>
<p class="muted">${escapeHtml(report.scenario.description)}</p>
<table>
<tr><th>Seed</th><td>${report.scenario.seed}</td><th>Backend</th><td>${escapeHtml(report.backend)}</td><th>Speed</th><td>${escapeHtml(report.speed)}</td></tr>
<tr><th>Simulated time</th><td colspan="5">${escapeHtml(clocks.simulatedStartedAt)} to ${escapeHtml(clocks.simulatedEndedAt)} (${formatDuration(clocks.simulatedSeconds * 1_000)})</td></tr>
<tr><th>Wall time</th><td colspan="5">${escapeHtml(clocks.wallStartedAt)}, ${formatDuration(clocks.wallSeconds * 1_000)}: ${clocks.speedup.toFixed(0)} simulated seconds per wall second</td></tr>
</table>`;
}

function summary(report: RunReport): string {
  const { invocations, environments } = report;
  const drivenRowsHtml = drivenRows(report)
    .map(
      ([label, total, details]) =>
        `<tr><td>${escapeHtml(label.charAt(0).toUpperCase() + label.slice(1))}</td><td class="num">${escapeHtml(total)}</td><td>${escapeHtml(details)}</td></tr>`,
    )
    .join("\n");
  const functionRows = Object.entries(invocations.byFunction)
    .map(
      ([name, counts]) =>
        `<tr><td>&nbsp;&nbsp;${escapeHtml(name)}</td><td class="num">${counts.total}</td><td>${counts.cold} cold, ${counts.failed} failed</td></tr>`,
    )
    .join("");
  return `<h2>Summary</h2>
<table id="summary">
<tr><th></th><th>total</th><th>details</th></tr>
${drivenRowsHtml}
<tr><td>Invocations</td><td class="num">${invocations.total}</td><td>${invocations.cold} cold, ${invocations.warm} warm, ${invocations.failed} failed</td></tr>
${functionRows}
<tr><td>Environments</td><td class="num">${environments.started}</td><td>${escapeHtml(describeEnvironments(environments))}</td></tr>
</table>`;
}

function failures(report: RunReport): string {
  if (report.failures.length === 0) return `<h2>Failures</h2><p class="ok">No failures.</p>`;
  const rows = report.failures
    .map(
      (
        failure,
      ) => `<tr><td class="bad">${escapeHtml(failure.kind)}</td><td class="num">${failure.invocations}</td><td class="num">${failure.executions}</td><td class="num">${failure.documents}</td>
<td>${escapeHtml(failure.first.functionName ?? "-")}</td><td>${failure.first.environmentId ? `<code>${escapeHtml(failure.first.environmentId)}</code>` : `<span class="muted">${escapeHtml(failure.first.noEnvironment ?? "-")}</span>`}</td>
<td class="num">${failure.first.invocationNumber ?? "-"}</td><td>${escapeHtml(new Date(failure.first.at).toISOString())}</td><td>${escapeHtml(failure.first.error.slice(0, 300))}</td></tr>`,
    )
    .join("\n");
  return `<h2>Failures by kind</h2>
<table id="failures"><tr><th>kind</th><th>invocations</th><th>executions</th><th>documents</th><th>first: function</th><th>environment</th><th>invocation #</th><th>simulated time</th><th>error</th></tr>
${rows}</table>`;
}

function reruns(report: RunReport): string {
  if (report.reruns.length === 0) return "";
  const rows = report.reruns
    .map((rerun) => {
      const landing = rerun.landings[0];
      const where = landing
        ? `${escapeHtml(landing.functionName)} on ${landing.sameEnvironment ? "the same environment" : landing.fresh ? '<span class="ok">a fresh environment</span>' : "an older environment"} <code>${escapeHtml(landing.environmentId)}</code>, invocation ${landing.invocationNumber} (${landing.coldStart ? "cold start" : "warm"})`
        : "no invocation";
      const others = rerun.landings
        .slice(1)
        .map(
          (other) =>
            `${escapeHtml(other.functionName)} <code>${escapeHtml(other.environmentId.slice(0, 8))}</code> #${other.invocationNumber}${other.coldStart ? " cold" : ""}`,
        )
        .join(", ");
      const result = rerun.passed
        ? '<span class="ok">passed</span>'
        : `<span class="bad">failed again</span> ${escapeHtml((rerun.error ?? "").slice(0, 200))}`;
      return `<tr><td><code>${escapeHtml(rerun.executionName)}</code>${rerun.document ? `<br><code>${escapeHtml(rerun.document)}</code>` : ""}</td>
<td class="bad">${escapeHtml(describeFailurePlace(rerun.failure, false))}</td><td>${escapeHtml(clockTime(rerun.failure.at))}</td>
<td>${escapeHtml(rerun.method)} at ${escapeHtml(clockTime(rerun.at))}</td><td>${where}${others ? `<br><span class="muted">then ${others}</span>` : ""}${rerun.exact ? "" : '<br><span class="muted">other executions ran at the same time</span>'}</td><td>${result}</td></tr>`;
    })
    .join("\n");
  return `<h2>Re-runs</h2>
<p class="muted">Each failed execution that was re-run: the environment and invocation its first attempt failed on, and where the re-run's invocations landed. A fresh environment started after the failure.</p>
<table id="reruns"><tr><th>execution</th><th>first attempt failed</th><th>at (UTC)</th><th>re-run</th><th>landed on</th><th>result</th></tr>
${rows}</table>`;
}

function findings(report: RunReport): string {
  if (report.findings.length === 0)
    return `<h2>Leak findings</h2><p class="ok">No environment grows steadily.</p>`;
  const items = report.findings
    .map(
      (finding) =>
        `<li><b>${escapeHtml(finding.functionName)}</b> <code>${escapeHtml(finding.environmentId)}</code>, ${counted(finding.invocations, "invocation")}<ul>${finding.messages.map((message) => `<li>${escapeHtml(message)}</li>`).join("")}</ul></li>`,
    )
    .join("\n");
  return `<h2>Leak findings</h2><ul id="findings">${items}</ul>`;
}

function timeline(report: RunReport): string {
  const clock = (x: number) => new Date(x).toISOString().slice(11, 16);
  const at = (select: (bucket: RunReport["timeline"][number]) => number): Array<[number, number]> =>
    report.timeline.map((bucket) => [bucket.start, select(bucket)]);
  const charts = [
    renderChart({
      title: "Concurrency and live environments over simulated time (UTC)",
      series: [
        {
          label: "concurrent invocations",
          color: "#2f6fdb",
          points: at((bucket) => bucket.concurrency),
        },
        {
          label: "live environments",
          color: "#7a4cc2",
          points: at((bucket) => bucket.liveEnvironments),
        },
      ],
      formatX: clock,
      width: 640,
    }),
    renderChart({
      title: "Cold starts",
      series: [
        {
          label: "cold starts",
          color: "#d08a1b",
          bars: true,
          points: at((bucket) => bucket.coldStarts),
        },
      ],
      formatX: clock,
    }),
    renderChart({
      title: "Failed invocations",
      series: [
        {
          label: "failures",
          color: "#b3261e",
          bars: true,
          points: at((bucket) => bucket.failures),
        },
      ],
      formatX: clock,
    }),
  ];
  return `<h2>Over simulated time</h2><div class="charts" id="timeline">${charts.join("\n")}</div>`;
}

function environments(report: RunReport, invocations: InvocationSummary[]): string {
  const leaking = new Set(report.findings.map((finding) => finding.environmentId));
  const failedBy = new Map<string, number[]>();
  for (const invocation of invocations) {
    if (invocation.outcome === "success") continue;
    const list = failedBy.get(invocation.environmentId) ?? [];
    list.push(invocation.invocationNumber);
    failedBy.set(invocation.environmentId, list);
  }

  const chosen = [...report.environmentSeries]
    .filter((environment) => environment.points.length > 1)
    .sort((a, b) => rank(b, leaking, failedBy) - rank(a, leaking, failedBy))
    .slice(0, MAX_ENVIRONMENT_CHARTS);
  const blocks = chosen.map((environment) =>
    environmentBlock(environment, failedBy.get(environment.environmentId) ?? []),
  );
  const omitted = report.environmentSeries.length - chosen.length;
  return `<h2>Environments</h2>
<p class="muted">Open descriptors, /tmp usage and resident memory after each invocation of an environment, with its limit as a dashed line and failed invocations as red ticks.${omitted > 0 ? ` ${counted(omitted, "environment")} with fewer invocations ${omitted === 1 ? "is" : "are"} only in report.json.` : ""}</p>
<div id="environments">${blocks.join("\n")}</div>`;
}

function rank(
  environment: EnvironmentRecord,
  leaking: Set<string>,
  failedBy: Map<string, number[]>,
): number {
  return (
    (leaking.has(environment.environmentId) ? 1e9 : 0) +
    (failedBy.has(environment.environmentId) ? 1e8 : 0) +
    environment.invocations
  );
}

function environmentBlock(environment: EnvironmentRecord, failedNumbers: number[]): string {
  const points = (
    select: (point: EnvironmentRecord["points"][number]) => number,
  ): ChartSeries["points"] => environment.points.map((point) => [point.n, select(point)]);
  const invocation = (x: number) => `#${Math.round(x)}`;
  const megabytes = (y: number) => `${compactNumber(y / MB)} MB`;
  const charts = [
    renderChart({
      title: "Open descriptors",
      series: [
        { label: "descriptors", color: "#2f6fdb", points: points((point) => point.descriptors) },
      ],
      limit: {
        value: environment.limits.descriptors,
        label: `limit ${environment.limits.descriptors}`,
      },
      failures: failedNumbers,
      formatX: invocation,
      width: 320,
    }),
    renderChart({
      title: "/tmp bytes",
      series: [
        { label: "used", color: "#1e7b34", points: points((point) => point.tmpBytes) },
        {
          label: "deleted, open",
          color: "#d08a1b",
          points: points((point) => point.tmpDeletedOpenBytes),
        },
      ],
      limit: {
        value: environment.limits.tmpBytes,
        label: `ephemeral storage ${compactNumber(environment.limits.tmpBytes / MB)} MB`,
      },
      failures: failedNumbers,
      formatX: invocation,
      formatY: megabytes,
      width: 320,
    }),
    renderChart({
      title: "Resident memory",
      series: [
        { label: "resident", color: "#7a4cc2", points: points((point) => point.residentBytes) },
      ],
      limit: {
        value: environment.limits.memoryBytes,
        label: `memory ${compactNumber(environment.limits.memoryBytes / MB)} MB`,
      },
      failures: failedNumbers,
      formatX: invocation,
      formatY: megabytes,
      width: 320,
    }),
  ];
  const ending = environment.endReason
    ? `, ended: ${escapeHtml(environment.endReason === "shutdown" ? "shut down at the end of the run" : environment.endReason)}`
    : environment.status === "gone"
      ? ", ended"
      : ", still running when the run ended";
  return `<h3>${escapeHtml(environment.functionName)} <code>${escapeHtml(environment.environmentId)}</code>: ${counted(environment.invocations, "invocation")}, ${counted(environment.resets, "reset")}${ending}${failedNumbers.length ? `, <span class="bad">${failedNumbers.length} failed</span>` : ""}</h3>
<div class="charts environment" data-environment="${escapeHtml(environment.environmentId)}">${charts.join("\n")}</div>`;
}
