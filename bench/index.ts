/**
 * `npm run bench`: every performance target of the project, each measured
 * as a ratio against a baseline taken in the same run, so the numbers hold
 * on any machine. `--json` prints one JSON object on stdout and nothing
 * else, and progress goes to stderr. npm prints its own banner on stdout,
 * so use `npm run -s bench -- --json` for machine-readable output.
 * `--only NAME` runs one section.
 */
import os from "node:os";
import { parseArgs } from "node:util";

type Section = { name: string; run: () => Promise<Record<string, number | string>> };

const SECTIONS: Section[] = [
  {
    name: "lambda-process",
    run: async () => (await import("./lambda-core.ts")).benchLambdaCore("process"),
  },
  { name: "runtime-api", run: async () => (await import("./runtime-api.ts")).benchRuntimeApi() },
  { name: "async-invoke", run: async () => (await import("./async-invoke.ts")).benchAsyncInvoke() },
  {
    name: "step-functions",
    run: async () => (await import("./stepfunctions.ts")).benchStepFunctions(),
  },
  { name: "s3", run: async () => (await import("./s3.ts")).benchS3() },
  { name: "pdf", run: async () => (await import("./pdf.ts")).benchPdf() },
  { name: "docker", run: async () => (await import("./docker.ts")).benchDocker() },
  { name: "replay", run: async () => (await import("./replay.ts")).benchReplaySection() },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      only: { type: "string" },
    },
  });
  const selected = values.only
    ? SECTIONS.filter((section) => section.name === values.only)
    : SECTIONS;
  if (selected.length === 0) {
    throw new Error(
      `Unknown section "${values.only}". Valid sections: ${SECTIONS.map((s) => s.name).join(", ")}.`,
    );
  }

  const results: Record<string, number | string> = {
    "machine.cpus": os.cpus().length,
    "machine.load1_before": round2(os.loadavg()[0]),
  };
  const runStarted = performance.now();
  for (const section of selected) {
    const [load1] = os.loadavg();
    console.error(`running ${section.name} (load average ${load1.toFixed(2)})...`);
    const started = performance.now();
    try {
      Object.assign(results, await section.run());
    } catch (error) {
      results[`${section.name}.error`] = (error as Error).message;
      console.error(`${section.name} failed:`, error);
    }
    results[`${section.name}.section_seconds`] = round2((performance.now() - started) / 1000);
    results[`${section.name}.load1_after`] = round2(os.loadavg()[0]);
  }
  results["machine.load1_after"] = round2(os.loadavg()[0]);
  results["bench.total_seconds"] = round2((performance.now() - runStarted) / 1000);

  if (values.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(results).map((key) => key.length));
  for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(width)}  ${value}`);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
