import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import Fastify from "fastify";
import { startSimulator } from "../simulator/simulator.ts";
import type { BackendName } from "../simulator/sandbox/backend.ts";
import { round, summarize, timeEach } from "./stats.ts";

const NOOP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../test/fixtures/bench/noop");
const WARM_SAMPLES = 2_000;
const COLD_SAMPLES = 30;

/**
 * Warm invoke overhead and cold start of one backend, each against a
 * baseline measured in the same run: a bare loopback HTTP round trip and a
 * bare `node -e 0` spawn.
 */
export async function benchLambdaCore(backend: BackendName): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "warmstate-bench-"));
  const simulator = await startSimulator({ backend, dataDir, logLevel: "silent" });
  try {
    const lambda = new LambdaClient({
      endpoint: simulator.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    });
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: "noop",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/bench",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: NOOP_DIR },
      }),
    );
    const payload = Buffer.from("{}");
    const invoke = () => simulator.lambda.invoke({ functionName: "noop", payload });
    await invoke();

    // Warm path: the in-process service call, so the number is the platform's
    // overhead (thaw, Runtime API round trip, probe, freeze), not the SDK's.
    await timeEach(200, invoke);
    const warm = summarize(await timeEach(WARM_SAMPLES, invoke));
    const bare = summarize(await bareRoundTrips(WARM_SAMPLES));

    // SDK round trip against the edge vs the same client against a bare route.
    const sdkWarm = summarize(
      await timeEach(500, () => lambda.send(new InvokeCommand({ FunctionName: "noop", Payload: payload }))),
    );
    const sdkBare = summarize(await sdkAgainstBareFastify(500));

    // Cold start: a new configuration every time forces a new environment.
    const cold: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      const name = `noop-cold-${i}`;
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: "nodejs20.x",
          Role: "arn:aws:iam::000000000000:role/bench",
          Handler: "index.handler",
          Code: { S3Bucket: "hot-reload", S3Key: NOOP_DIR },
        }),
      );
      const started = performance.now();
      await simulator.lambda.invoke({ functionName: name, payload });
      cold.push(performance.now() - started);
    }
    const coldSummary = summarize(cold);
    const spawnSummary = summarize(await timeEach(COLD_SAMPLES, spawnNode));

    return {
      [`${backend}.warm_invoke_p50_ms`]: round(warm.p50),
      [`${backend}.warm_invoke_p99_ms`]: round(warm.p99),
      [`${backend}.bare_http_p50_ms`]: round(bare.p50),
      [`${backend}.bare_http_p99_ms`]: round(bare.p99),
      [`${backend}.warm_overhead_ratio_p50`]: round(warm.p50 / bare.p50),
      [`${backend}.sdk_invoke_p50_ms`]: round(sdkWarm.p50),
      [`${backend}.sdk_bare_fastify_p50_ms`]: round(sdkBare.p50),
      [`${backend}.sdk_invoke_ratio_p50`]: round(sdkWarm.p50 / sdkBare.p50),
      [`${backend}.cold_start_p50_ms`]: round(coldSummary.p50),
      [`${backend}.node_spawn_p50_ms`]: round(spawnSummary.p50),
      [`${backend}.cold_start_ratio_p50`]: round(coldSummary.p50 / spawnSummary.p50),
    };
  } finally {
    await simulator.close();
  }
}

async function bareRoundTrips(count: number): Promise<number[]> {
  const server = http.createServer((_request, response) => response.end("null"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/", agent }, (response) => {
          response.resume();
          response.on("end", resolve);
        })
        .on("error", reject);
    });
  try {
    await timeEach(200, get);
    return await timeEach(count, get);
  } finally {
    agent.destroy();
    server.close();
  }
}

async function sdkAgainstBareFastify(count: number): Promise<number[]> {
  const app = Fastify();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.post("/2015-03-31/functions/:name/invocations", async () => null);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const client = new LambdaClient({
    endpoint: address,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  try {
    const send = () => client.send(new InvokeCommand({ FunctionName: "noop", Payload: Buffer.from("{}") }));
    await timeEach(100, send);
    return await timeEach(count, send);
  } finally {
    await app.close();
  }
}

function spawnNode(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve());
  });
}
