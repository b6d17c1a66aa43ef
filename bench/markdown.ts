/**
 * Renders the JSON of `npm run -s bench -- --json` as the Markdown tables of
 * docs/benchmarks.md: one table per section with each metric, its
 * baseline, the ratio, the target and whether this run met it.
 * Usage: `npx tsx bench/markdown.ts RESULTS.json`.
 */
import { readFileSync } from "node:fs";

type Results = Record<string, number | string>;

/** One table row: a measured metric against its baseline metric. */
interface Row {
  label: string;
  value: string;
  baseline?: string;
  ratio?: string;
  /** Target as text, and the test that decides whether the ratio meets it. */
  target?: { text: string; met: (ratio: number) => boolean };
}

const within = (limit: number) => ({ text: `≤ ${limit}x`, met: (ratio: number) => ratio <= limit });
const atLeast = (limit: number) => ({
  text: `≥ ${limit}x`,
  met: (ratio: number) => ratio >= limit,
});

const SECTIONS: Array<{ title: string; rows: Row[] }> = [
  {
    title: "lambda-process",
    rows: [
      {
        label: "warm invoke p50 (ms) vs HTTP round trip to a child process",
        value: "process.warm_invoke_p50_ms",
        baseline: "process.bare_http_child_p50_ms",
        ratio: "process.warm_overhead_ratio_p50",
        target: within(3),
      },
      {
        label: "warm invoke p99 (ms) vs HTTP round trip to a child process",
        value: "process.warm_invoke_p99_ms",
        baseline: "process.bare_http_child_p99_ms",
        ratio: "process.warm_overhead_ratio_p99",
      },
      {
        label: "warm invoke p50 (ms) with freezing off, vs HTTP round trip to a child process",
        value: "process.warm_invoke_unfrozen_p50_ms",
        baseline: "process.bare_http_child_p50_ms",
        ratio: "process.warm_overhead_ratio_unfrozen_p50",
      },
      {
        label: "warm invoke p50 (ms) vs HTTP round trip in this process",
        value: "process.warm_invoke_p50_ms",
        baseline: "process.bare_http_in_process_p50_ms",
        ratio: "process.warm_overhead_ratio_in_process_p50",
      },
      {
        label: "SDK Invoke p50 (ms) vs SDK against a bare Fastify route",
        value: "process.sdk_invoke_p50_ms",
        baseline: "process.sdk_bare_fastify_p50_ms",
        ratio: "process.sdk_invoke_ratio_p50",
      },
      {
        label: "SDK Invoke p99 (ms) vs SDK against a bare Fastify route",
        value: "process.sdk_invoke_p99_ms",
        baseline: "process.sdk_bare_fastify_p99_ms",
      },
      {
        label: "cold start p50 (ms) vs `node -e 0` spawn",
        value: "process.cold_start_p50_ms",
        baseline: "process.node_spawn_p50_ms",
        ratio: "process.cold_start_ratio_p50",
        target: within(3),
      },
      { label: "cold start p99 (ms)", value: "process.cold_start_p99_ms" },
    ],
  },
  {
    title: "runtime-api",
    rows: [
      {
        label:
          "Runtime API warm invoke p50 (ms), no sandbox, vs HTTP round trip to a child process",
        value: "runtime_api.warm_invoke_p50_ms",
        baseline: "runtime_api.bare_http_child_p50_ms",
        ratio: "runtime_api.warm_overhead_ratio_p50",
      },
      { label: "Runtime API warm invoke p99 (ms)", value: "runtime_api.warm_invoke_p99_ms" },
      {
        label:
          "Runtime API warm invoke p50 (ms), each event sent after the runtime's `next` (the floor with a freeze), vs HTTP round trip to a child process",
        value: "runtime_api.sequenced_p50_ms",
        baseline: "runtime_api.bare_http_child_p50_ms",
        ratio: "runtime_api.sequenced_ratio_p50",
      },
    ],
  },
  {
    title: "async-invoke",
    rows: [
      {
        label: "Event invocations per second vs synchronous SDK invokes per second",
        value: "async.events_per_second",
        baseline: "async.sync_invokes_per_second",
        ratio: "async.ratio_vs_sync",
      },
      { label: "environments the queue used", value: "async.environments_used" },
    ],
  },
  {
    title: "step-functions",
    rows: [
      {
        label:
          "Choice/Pass loop, 10,000 transitions: median ms (aws-local-stepfunctions as baseline)",
        value: "sfn.loop10k.warmstateMs",
        baseline: "sfn.loop10k.baselineMs",
        ratio: "sfn.loop10k.speedup",
        target: atLeast(1.5),
      },
      {
        label: "loop transitions per second",
        value: "sfn.loop10k.warmstateTransitionsPerSecond",
        baseline: "sfn.loop10k.baselineTransitionsPerSecond",
      },
      {
        label: "Map of 1,000 items, MaxConcurrency 40: median ms",
        value: "sfn.map1000.warmstateMs",
        baseline: "sfn.map1000.baselineMs",
        ratio: "sfn.map1000.speedup",
        target: atLeast(1.5),
      },
      {
        label: "Map transitions per second",
        value: "sfn.map1000.warmstateTransitionsPerSecond",
        baseline: "sfn.map1000.baselineTransitionsPerSecond",
      },
    ],
  },
  {
    title: "s3",
    rows: [
      {
        label: "PutObject 10 MiB, median ms (fsync'd file write as baseline)",
        value: "s3.put_median_ms",
        baseline: "s3.file_write_median_ms",
        ratio: "s3.put_slowdown_vs_file",
      },
      {
        label: "PutObject MiB/s",
        value: "s3.put_mib_per_second",
        baseline: "s3.file_write_mib_per_second",
      },
      {
        label: "GetObject 10 MiB, median ms (file read as baseline)",
        value: "s3.get_median_ms",
        baseline: "s3.file_read_median_ms",
        ratio: "s3.get_slowdown_vs_file",
      },
      {
        label: "GetObject MiB/s",
        value: "s3.get_mib_per_second",
        baseline: "s3.file_read_mib_per_second",
      },
    ],
  },
  {
    title: "pdf",
    rows: [
      {
        label: "pdf-split pages/s, warm (same library call in this process as baseline)",
        value: "pdf.split_pages_per_second",
        baseline: "pdf.split_in_process_pages_per_second",
        ratio: "pdf.split_ratio_vs_in_process",
      },
      {
        label: "pdf-analyze pages/s, warm (same library call in this process as baseline)",
        value: "pdf.analyze_pages_per_second",
        baseline: "pdf.analyze_in_process_pages_per_second",
        ratio: "pdf.analyze_ratio_vs_in_process",
      },
    ],
  },
  {
    title: "docker",
    rows: [
      {
        label: "cold start p50 (ms) vs `docker run --rm` no-op until exit",
        value: "docker.cold_start_p50_ms",
        baseline: "docker.run_noop_until_exit_p50_ms",
        ratio: "docker.cold_start_ratio_p50",
        target: within(1.5),
      },
      {
        label: "cold start p50 (ms) vs `docker run --rm` no-op including removal",
        value: "docker.cold_start_p50_ms",
        baseline: "docker.run_noop_with_removal_p50_ms",
        ratio: "docker.cold_start_ratio_with_removal_p50",
      },
      {
        label: "warm invoke p50 (ms) at 1,769 MB (one vCPU), docker vs process backend",
        value: "docker.warm_invoke_p50_ms",
        baseline: "docker.process_warm_invoke_p50_ms",
        ratio: "docker.warm_ratio_vs_process_p50",
        target: within(2),
      },
      {
        label: "warm invoke p99 (ms) at 1,769 MB, docker vs process backend",
        value: "docker.warm_invoke_p99_ms",
        baseline: "docker.process_warm_invoke_p99_ms",
      },
      {
        label: "warm invoke p50 (ms) at 128 MB (docker gets 7% of a core), docker vs process",
        value: "docker.warm_invoke_128mb_p50_ms",
        baseline: "docker.process_warm_invoke_128mb_p50_ms",
        ratio: "docker.warm_ratio_vs_process_128mb_p50",
      },
    ],
  },
  {
    title: "replay",
    rows: [
      {
        label: "seed-workday, arrivals cut to 2 h: simulated seconds per wall second",
        value: "replay.workday.simulatedSecondsPerWallSecond",
      },
      {
        label: "seed-workday, arrivals cut to 2 h: simulated / wall seconds",
        value: "replay.workday.simulatedSeconds",
        baseline: "replay.workday.wallSeconds",
      },
      {
        label: "replay invoke path: round trip vs handler duration (mean ms)",
        value: "replay.invoke.roundTripMs",
        baseline: "replay.invoke.handlerMs",
      },
      {
        label: "warm invoke p50 (ms), probes on vs probes off",
        value: "replay.probes.on_p50_ms",
        baseline: "replay.probes.off_p50_ms",
        ratio: "replay.probes.overhead_ratio_p50",
        target: within(1.2),
      },
      {
        label: "warm invoke p99 (ms), probes on vs probes off",
        value: "replay.probes.on_p99_ms",
        baseline: "replay.probes.off_p99_ms",
      },
    ],
  },
];

function renderSection(results: Results, title: string, rows: Row[]): string {
  const lines = [`### ${title}`, ""];
  for (const [key, value] of Object.entries(results)) {
    if (key.startsWith(`${title}.`) && (key.endsWith(".error") || key.endsWith(".skipped"))) {
      lines.push(`Not measured: ${value}`, "");
    }
  }
  lines.push(
    "| metric | value | baseline | ratio | target | met? |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const row of rows) {
    const cell = (key?: string) =>
      key === undefined || results[key] === undefined ? "" : String(results[key]);
    const ratio = row.ratio === undefined ? undefined : results[row.ratio];
    let met = "";
    if (row.target && typeof ratio === "number") met = row.target.met(ratio) ? "yes" : "no";
    lines.push(
      `| ${row.label} | ${cell(row.value)} | ${cell(row.baseline)} | ${cell(row.ratio)} | ${row.target?.text ?? ""} | ${met} |`,
    );
  }
  return lines.join("\n");
}

const file = process.argv[2];
if (!file)
  throw new Error("Missing argument: pass the JSON file that `npm run -s bench -- --json` wrote.");
const results = JSON.parse(readFileSync(file, "utf8")) as Results;
console.log(
  SECTIONS.map((section) => renderSection(results, section.title, section.rows)).join("\n\n"),
);
