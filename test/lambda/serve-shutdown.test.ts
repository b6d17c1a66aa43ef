import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SLOW_DIR = path.join(ROOT, "test/fixtures/serve/slow");

interface Served {
  child: ChildProcess;
  endpoint: string;
  output: () => string;
  exited: Promise<number | null>;
}

// `warmstate serve` in a process group of its own, as a shell starts it, so
// a signal to the group reaches everything a Ctrl-C in its terminal reaches.
async function serve(dataDir: string): Promise<Served> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin/warmstate.js"), "serve", "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const check = setInterval(() => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match) {
        clearInterval(check);
        resolve(match[1]);
      }
    }, 20);
    void exited.then(() => {
      clearInterval(check);
      reject(new Error(`warmstate serve failed: it exited before listening:\n${text}`));
    });
  });
  return { child, endpoint, output: () => text, exited };
}

describe("warmstate serve on Ctrl-C", () => {
  let served: Served | undefined;
  const dataDir = mkdtempSync(path.join(ROOT, ".warmstate-test-serve-"));

  afterEach(async () => {
    if (served && served.child.exitCode === null) {
      served.child.kill("SIGKILL");
      await served.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("finishes the running invocation, then exits", async () => {
    served = await serve(dataDir);
    const lambda = new LambdaClient({
      endpoint: served.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: "slow",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/test",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: SLOW_DIR },
      }),
    );
    const invoke = (ms: number) =>
      lambda.send(
        new InvokeCommand({ FunctionName: "slow", Payload: Buffer.from(JSON.stringify({ ms })) }),
      );
    await invoke(0);

    const inFlight = invoke(800);
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(-(served.child.pid as number), "SIGINT");

    const result = await inFlight;
    lambda.destroy();
    expect(result.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(result.Payload ?? []).toString())).toEqual({ slept: 800 });
    expect(await served.exited).toBe(0);
    expect(served.output()).not.toContain("init failed");
  });
});

describe("warmstate serve on a taken port", () => {
  it("explains the conflict and cleans up", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    const dataDir = mkdtempSync(path.join(ROOT, ".warmstate-test-port-"));

    const child = spawn(
      process.execPath,
      [path.join(ROOT, "bin/warmstate.js"), "serve", "--port", String(port), "--data-dir", dataDir],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });

    expect(code).toBe(2);
    expect(stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    expect(stderr).toContain("--port");
    // The process backend's cgroups are named after the simulator's pid.
    const freezer = "/sys/fs/cgroup/freezer";
    const left = existsSync(freezer)
      ? readdirSync(freezer).filter((name) => name.startsWith(`warmstate-${child.pid}-`))
      : [];
    expect(left).toEqual([]);
  });
});
