/**
 * Benchmarks of the replay. The first is simulated seconds per wall second
 * for a slice of seed-workday at `--speed max`. The second is the cost per
 * invocation of the path the replay drives (SDK call, edge server, pool,
 * thaw, probe, freeze) on top of the handler's own time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { VirtualClock } from "../clock.ts";
import { clientConfig, deployPipeline, deploySettingsFor } from "./deploy.ts";
import { runReplay } from "./replay-run.ts";
import { loadScenario } from "./scenario-loader.ts";

/** Invocations timed for the per-invocation overhead. */
const OVERHEAD_INVOCATIONS = 200;

/** Runs both benchmarks; keys are `replay.*`, times in milliseconds. */
export async function benchReplay(
  options: { workdaySliceMs?: number } = {},
): Promise<Record<string, number>> {
  const folder = mkdtempSync(path.join(tmpdir(), "warmstate-bench-"));
  try {
    const withProbes = await benchOverhead(folder, true);
    const withoutProbes = await benchOverhead(folder, false);
    return {
      ...(await benchWorkday(folder, options.workdaySliceMs ?? 2 * 3_600_000)),
      "replay.invoke.roundTripMs": withProbes.roundTripMs,
      "replay.invoke.handlerMs": withProbes.handlerMs,
      "replay.invoke.overheadMs": withProbes.roundTripMs - withProbes.handlerMs,
      "replay.invoke.roundTripWithoutProbesMs": withoutProbes.roundTripMs,
      "replay.invoke.probeMs": withProbes.roundTripMs - withoutProbes.roundTripMs,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function benchWorkday(folder: string, sliceMs: number): Promise<Record<string, number>> {
  const { scenario, file } = loadScenario("seed-workday");
  const { report } = await runReplay({
    scenario: { ...scenario, duration: sliceMs },
    scenarioFile: file,
    backend: "process",
    speed: "max",
    outDir: path.join(folder, "workday"),
  });
  return {
    "replay.workday.simulatedSeconds": report.clocks.simulatedSeconds,
    "replay.workday.wallSeconds": report.clocks.wallSeconds,
    "replay.workday.simulatedSecondsPerWallSecond": report.clocks.speedup,
    "replay.workday.invocations": report.invocations.total,
  };
}

// pdf-summarize's "report" action touches no S3 and returns at once, so the
// round trip minus the handler's duration is the simulator's and driver's
// share, and the difference with probes off is what the probes cost.
async function benchOverhead(
  folder: string,
  probes: boolean,
): Promise<{ roundTripMs: number; handlerMs: number }> {
  const { startSimulator } = await import("../simulator.ts");
  const clock = new VirtualClock({ start: Date.now(), speed: 1, jumpIdle: true });
  const simulator = await startSimulator({
    dataDir: path.join(folder, probes ? "data-probes" : "data"),
    clock,
    probes,
    logFile: path.join(folder, "bench.log"),
  });
  const lambda = new LambdaClient(clientConfig(simulator.endpoint));
  try {
    await deployPipeline({ endpoint: simulator.endpoint, settings: deploySettingsFor() });
    const payload = Buffer.from(JSON.stringify({ action: "report", documents: [] }));
    await lambda.send(new InvokeCommand({ FunctionName: "pdf-summarize", Payload: payload }));

    let roundTripMs = 0;
    let handlerMs = 0;
    // Hold the clock as the replay driver does while work runs. Without the
    // hold, the moment between two calls is idle time: `jumpIdle` jumps to the
    // environment's keep-alive timer, the pool reclaims it, and every call
    // becomes a cold start.
    const release = clock.hold();
    for (let index = 0; index < OVERHEAD_INVOCATIONS; index++) {
      const started = performance.now();
      await lambda.send(new InvokeCommand({ FunctionName: "pdf-summarize", Payload: payload }));
      roundTripMs += performance.now() - started;
      handlerMs += simulator.lambda.invocations("pdf-summarize").at(-1)?.durationMs ?? 0;
    }
    release();
    return {
      roundTripMs: roundTripMs / OVERHEAD_INVOCATIONS,
      handlerMs: handlerMs / OVERHEAD_INVOCATIONS,
    };
  } finally {
    lambda.destroy();
    await simulator.close();
    clock.stop();
  }
}
