/**
 * Replay speed and probe cost. The replay part calls the replay's own
 * benchmark (simulator/replay/bench.ts): simulated seconds per wall second
 * for a slice of the seed-workday scenario at `--speed max`, and the cost
 * per invocation of the path a replay drives. The probe part times warm
 * invokes of a no-op handler with the per-invocation probes off and on, in
 * the same run.
 */
import { benchReplay } from "../simulator/replay/bench.ts";
import { startBenchSimulator } from "./noop-simulator.ts";
import { round, summarize, timeEach } from "./stats.ts";

const PROBE_SAMPLES = 1_000;
/** Simulated milliseconds of seed-workday replayed: the first two hours of the day. */
const WORKDAY_SLICE_MS = 2 * 3_600_000;

/** Measures the replay speed-up and the probe overhead. Keys start with `replay.`. */
export async function benchReplaySection(): Promise<Record<string, number>> {
  const replay = await benchReplay({ workdaySliceMs: WORKDAY_SLICE_MS });

  // Alternate the two simulators in blocks, so a change in machine load hits both.
  const withoutProbes: number[] = [];
  const withProbes: number[] = [];
  const off = await startBenchSimulator({ probes: false });
  const on = await startBenchSimulator();
  try {
    await off.createNoop("noop");
    await on.createNoop("noop");
    await timeEach(200, () => off.invoke("noop"));
    await timeEach(200, () => on.invoke("noop"));
    for (let block = 0; block < 5; block++) {
      withoutProbes.push(...(await timeEach(PROBE_SAMPLES / 5, () => off.invoke("noop"))));
      withProbes.push(...(await timeEach(PROBE_SAMPLES / 5, () => on.invoke("noop"))));
    }
  } finally {
    await off.close();
    await on.close();
  }
  const offSummary = summarize(withoutProbes);
  const onSummary = summarize(withProbes);

  return {
    "replay.workday.sliceSimulatedHours": WORKDAY_SLICE_MS / 3_600_000,
    ...Object.fromEntries(Object.entries(replay).map(([key, value]) => [key, round(value)])),
    "replay.probes.samples": PROBE_SAMPLES,
    "replay.probes.off_p50_ms": round(offSummary.p50),
    "replay.probes.off_p99_ms": round(offSummary.p99),
    "replay.probes.on_p50_ms": round(onSummary.p50),
    "replay.probes.on_p99_ms": round(onSummary.p99),
    "replay.probes.overhead_ratio_p50": round(onSummary.p50 / offSummary.p50),
  };
}
