/**
 * Warm invoke overhead of the Runtime API alone: RuntimeApiServer with the
 * project's runtime client in a plain child process, with no sandbox, no
 * freeze or thaw and no probes. Against a bare loopback HTTP round trip
 * between the same two kinds of processes.
 *
 * bare: this process POSTs 100 bytes to an echo server in a child process
 *       over a keep-alive connection and reads the echo.
 * warm invoke: this process calls `api.invoke()` with 100 bytes. The child
 *       runtime takes it from its held `next`, runs an async handler that
 *       returns the event, and posts the response.
 * sequenced: the same, but each event goes out only once the runtime has
 *       asked for it, and the time until that `next` arrives is counted. A
 *       sandbox frozen between invocations must wait for that `next` before
 *       it can freeze, so this is the floor of a warm invoke with a freeze,
 *       before any freeze, thaw, probe or bookkeeping.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { RuntimeApiServer } from "../simulator/lambda/runtime-api/runtime-api-server.ts";
import { invocation, lambdaEnvironment, spawnProcess } from "../test/runtime/runtime-harness.ts";
import { echoRoundTrips } from "./baselines.ts";
import { round, summarize } from "./stats.ts";

const WARMUP = 300;
const payload = JSON.stringify({ data: "x".repeat(88) });

async function warmInvokes(rounds: number, sequenced: boolean): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "warmstate-bench-"));
  await writeFile(path.join(dir, "index.mjs"), "export const handler = async (event) => event;\n");
  const api = await RuntimeApiServer.start({});
  const runtime = spawnProcess(
    process.execPath,
    [path.resolve(import.meta.dirname, "../simulator/runtime/index.mjs")],
    {
      cwd: dir,
      env: lambdaEnvironment(api, dir, "index.handler"),
    },
  );

  try {
    await api.waitForInit();
    const samples: number[] = [];
    for (let i = 0; i < WARMUP + rounds; i++) {
      const event = invocation(JSON.parse(payload));
      const started = performance.now();
      const outcome = await api.invoke(event);
      if (sequenced) await api.waitForNext();
      if (i >= WARMUP) samples.push(performance.now() - started);
      if (outcome.kind !== "response")
        throw new Error(`Runtime API invoke ended with ${outcome.kind}, expected a response.`);
    }
    return samples;
  } finally {
    await runtime.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Measures the Runtime API's warm invoke against the cross-process echo; keys start with `runtime_api.`. */
export async function benchRuntimeApi(rounds = 2_000): Promise<Record<string, number>> {
  const bare = summarize(await echoRoundTrips(rounds, true, Buffer.from(payload)));
  const warm = summarize(await warmInvokes(rounds, false));
  const sequenced = summarize(await warmInvokes(rounds, true));
  return {
    "runtime_api.rounds": rounds,
    "runtime_api.warm_invoke_p50_ms": round(warm.p50),
    "runtime_api.warm_invoke_p99_ms": round(warm.p99),
    "runtime_api.bare_http_child_p50_ms": round(bare.p50),
    "runtime_api.warm_overhead_ratio_p50": round(warm.p50 / bare.p50),
    "runtime_api.sequenced_p50_ms": round(sequenced.p50),
    "runtime_api.sequenced_ratio_p50": round(sequenced.p50 / bare.p50),
  };
}
