/**
 * Measures the warm-invoke overhead of RuntimeApiServer with the project's
 * runtime client, against a bare loopback HTTP round trip between the same
 * two processes. Not a test: run it with `npx tsx test/runtime/warm-invoke-overhead.mts`.
 *
 * bare: parent POSTs 100 bytes to an echo server in a child process over a
 *       keep-alive connection and reads the echo.
 * warm invoke: parent calls `api.invoke()` with 100 bytes; the child runtime
 *       takes it from its held `next`, runs an async handler that returns the
 *       event, and posts the response.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import { invocation, lambdaEnvironment, spawnProcess } from "./runtime-harness.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3000);
const WARMUP = 300;
const payload = JSON.stringify({ data: "x".repeat(88) });

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(
  name: string,
  samples: number[],
): { name: string; p50: number; p90: number; mean: number } {
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { name, p50: percentile(samples, 50), p90: percentile(samples, 90), mean };
}

async function bareRoundTrips(): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "warmstate-echo-"));
  const script = path.join(dir, "echo.mjs");
  await writeFile(
    script,
    `import http from "node:http";
const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => { const body = Buffer.concat(chunks); res.writeHead(200, { "Content-Length": body.length }); res.end(body); });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once("data", (chunk) => resolve(Number(String(chunk).trim()))),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from(payload);

  const once = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/",
          agent,
          headers: { "Content-Length": body.length },
        },
        (response) => {
          response.resume();
          response.on("end", resolve);
        },
      );
      request.on("error", reject);
      request.end(body);
    });

  const samples: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const started = performance.now();
    await once();
    if (i >= WARMUP) samples.push(performance.now() - started);
  }
  agent.destroy();
  child.kill();
  await rm(dir, { recursive: true, force: true });
  return samples;
}

async function warmInvokes(): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "warmstate-bench-"));
  await writeFile(path.join(dir, "index.mjs"), "export const handler = async (event) => event;\n");
  const api = await RuntimeApiServer.start({});
  const runtime = spawnProcess(process.execPath, [path.resolve("simulator/runtime/index.mjs")], {
    cwd: dir,
    env: lambdaEnvironment(api, dir, "index.handler"),
  });
  await api.waitForInit();

  const samples: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const event = invocation(JSON.parse(payload));
    const started = performance.now();
    const outcome = await api.invoke(event);
    if (i >= WARMUP) samples.push(performance.now() - started);
    if (outcome.kind !== "response") throw new Error(`Unexpected outcome ${outcome.kind}`);
  }
  await runtime.stop();
  await api.close();
  await rm(dir, { recursive: true, force: true });
  return samples;
}

const bare = summary("bare loopback round trip", await bareRoundTrips());
const warm = summary("warm invoke (runtime client)", await warmInvokes());
for (const row of [bare, warm]) {
  console.log(
    `${row.name.padEnd(30)} p50 ${row.p50.toFixed(3)} ms  p90 ${row.p90.toFixed(3)} ms  mean ${row.mean.toFixed(3)} ms`,
  );
}
console.log(
  `ratio p50 ${(warm.p50 / bare.p50).toFixed(2)}x  mean ${(warm.mean / bare.mean).toFixed(2)}x  (${ROUNDS} rounds each)`,
);
