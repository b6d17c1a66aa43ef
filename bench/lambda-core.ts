import { InvokeCommand, TagResourceCommand } from "@aws-sdk/client-lambda";
import type { BackendName } from "../simulator/sandbox/backend.ts";
import { echoRoundTrips, sdkAgainstBareFastify, spawnNode } from "./baselines.ts";
import { startBenchSimulator } from "./noop-simulator.ts";
import { round, summarize, timeEach } from "./stats.ts";

/** Sample counts of {@link benchLambdaCore}. */
export interface LambdaCoreSamples {
  warm: number;
  sdk: number;
  cold: number;
}

const DEFAULT_SAMPLES: LambdaCoreSamples = { warm: 2_000, sdk: 500, cold: 30 };

/**
 * Measures warm invoke overhead, SDK round trip and cold start of one
 * backend. Each has a baseline measured in the same run: an HTTP round trip to an
 * echo server in a child process, the same SDK client against a bare
 * Fastify route, and a bare `node -e 0` spawn. Keys start with the backend
 * name; times are in milliseconds.
 */
export async function benchLambdaCore(
  backend: BackendName,
  samples: LambdaCoreSamples = DEFAULT_SAMPLES,
): Promise<Record<string, number>> {
  const bench = await startBenchSimulator({ backend });
  try {
    await bench.createNoop("noop");
    const invoke = () => bench.invoke("noop");
    await invoke();

    // Warm path: the in-process service call, so the number is the platform's
    // overhead (thaw, Runtime API round trip, probe, freeze), not the SDK's.
    await timeEach(Math.min(200, samples.warm), invoke);
    const warm = summarize(await timeEach(samples.warm, invoke));
    const bareChild = summarize(await echoRoundTrips(samples.warm, true));
    const bareLocal = summarize(await echoRoundTrips(samples.warm, false));

    // The same calls with freezing off (the `warmstate:freeze` tag), to show
    // what the freeze and thaw of every invocation cost in this run.
    await bench.createNoop("noop-unfrozen");
    await bench.lambda.send(
      new TagResourceCommand({
        Resource: "arn:aws:lambda:us-east-1:000000000000:function:noop-unfrozen",
        Tags: { "warmstate:freeze": "false" },
      }),
    );
    const invokeUnfrozen = () => bench.invoke("noop-unfrozen");
    await timeEach(Math.min(200, samples.warm), invokeUnfrozen);
    const unfrozen = summarize(await timeEach(samples.warm, invokeUnfrozen));

    // SDK round trip against the edge vs the same client against a bare route.
    const sdkInvoke = () =>
      bench.lambda.send(new InvokeCommand({ FunctionName: "noop", Payload: Buffer.from("{}") }));
    await timeEach(Math.min(100, samples.sdk), sdkInvoke);
    const sdkWarm = summarize(await timeEach(samples.sdk, sdkInvoke));
    const sdkBare = summarize(await sdkAgainstBareFastify(samples.sdk));

    // Cold start: a new function every time forces a new environment.
    const cold: number[] = [];
    for (let i = 0; i < samples.cold; i++) {
      const name = `noop-cold-${i}`;
      await bench.createNoop(name);
      const started = performance.now();
      await bench.invoke(name);
      cold.push(performance.now() - started);
    }
    const coldSummary = summarize(cold);
    await spawnNode();
    const spawnSummary = summarize(await timeEach(samples.cold, spawnNode));

    return {
      [`${backend}.warm_invoke_samples`]: samples.warm,
      [`${backend}.warm_invoke_p50_ms`]: round(warm.p50),
      [`${backend}.warm_invoke_p99_ms`]: round(warm.p99),
      [`${backend}.bare_http_child_p50_ms`]: round(bareChild.p50),
      [`${backend}.bare_http_child_p99_ms`]: round(bareChild.p99),
      [`${backend}.warm_overhead_ratio_p50`]: round(warm.p50 / bareChild.p50),
      [`${backend}.warm_overhead_ratio_p99`]: round(warm.p99 / bareChild.p99),
      [`${backend}.warm_invoke_unfrozen_p50_ms`]: round(unfrozen.p50),
      [`${backend}.warm_overhead_ratio_unfrozen_p50`]: round(unfrozen.p50 / bareChild.p50),
      [`${backend}.bare_http_in_process_p50_ms`]: round(bareLocal.p50),
      [`${backend}.bare_http_in_process_p99_ms`]: round(bareLocal.p99),
      [`${backend}.warm_overhead_ratio_in_process_p50`]: round(warm.p50 / bareLocal.p50),
      [`${backend}.sdk_samples`]: samples.sdk,
      [`${backend}.sdk_invoke_p50_ms`]: round(sdkWarm.p50),
      [`${backend}.sdk_invoke_p99_ms`]: round(sdkWarm.p99),
      [`${backend}.sdk_bare_fastify_p50_ms`]: round(sdkBare.p50),
      [`${backend}.sdk_bare_fastify_p99_ms`]: round(sdkBare.p99),
      [`${backend}.sdk_invoke_ratio_p50`]: round(sdkWarm.p50 / sdkBare.p50),
      [`${backend}.cold_start_samples`]: samples.cold,
      [`${backend}.cold_start_p50_ms`]: round(coldSummary.p50),
      [`${backend}.cold_start_p99_ms`]: round(coldSummary.p99),
      [`${backend}.node_spawn_p50_ms`]: round(spawnSummary.p50),
      [`${backend}.cold_start_ratio_p50`]: round(coldSummary.p50 / spawnSummary.p50),
    };
  } finally {
    await bench.close();
  }
}
