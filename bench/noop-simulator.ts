import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { type Simulator, type SimulatorOptions, startSimulator } from "../simulator/simulator.ts";

/** Folder of the no-op handler that the Lambda benchmarks invoke. */
export const NOOP_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../test/fixtures/bench/noop",
);

/** A simulator started for one benchmark, with an SDK client pointed at it. */
export interface BenchSimulator {
  simulator: Simulator;
  lambda: LambdaClient;
  /** Creates a function running the no-op handler from its folder (hot-reload code). */
  createNoop(name: string, memorySize?: number): Promise<void>;
  /** Invokes a function through the in-process service, without the SDK. */
  invoke(name: string): Promise<unknown>;
  /** Stops the simulator and removes its data folder. */
  close(): Promise<void>;
}

/** Starts a silent simulator in a fresh data folder. */
export async function startBenchSimulator(options: SimulatorOptions = {}): Promise<BenchSimulator> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "warmstate-bench-"));
  const simulator = await startSimulator({ dataDir, logLevel: "silent", ...options });
  const lambda = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const payload = Buffer.from("{}");

  return {
    simulator,
    lambda,
    async createNoop(name, memorySize) {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: "nodejs20.x",
          Role: "arn:aws:iam::000000000000:role/bench",
          Handler: "index.handler",
          MemorySize: memorySize,
          Code: { S3Bucket: "hot-reload", S3Key: NOOP_DIR },
        }),
      );
    },
    invoke: (name) => simulator.lambda.invoke({ functionName: name, payload }),
    async close() {
      lambda.destroy();
      await simulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
