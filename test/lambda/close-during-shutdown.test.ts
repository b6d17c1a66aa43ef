import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/lambda/ignores-sigterm");

let dataDir: string | undefined;
let simulator: Simulator | undefined;

afterEach(async () => {
  await simulator?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  simulator = undefined;
  dataDir = undefined;
});

describe("simulator close during a shutdown", () => {
  it("waits for a recycle in progress", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "warmstate-close-"));
    simulator = await startSimulator({ dataDir, logLevel: "silent" });
    const lambda = new LambdaClient({
      endpoint: simulator.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: "slow-stop",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/test",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: FIXTURE },
      }),
    );
    await lambda.send(new InvokeCommand({ FunctionName: "slow-stop" }));

    // The new memory size recycles the idle environment; its runtime ignores
    // SIGTERM, so that shutdown is still running when the simulator closes.
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: "slow-stop", MemorySize: 256 }),
    );
    const recycling = simulator.lambda.environments("slow-stop");
    lambda.destroy();
    await simulator.close();
    const closed = simulator.lambda.environments("slow-stop");
    simulator = undefined;

    expect(recycling.map((environment) => environment.status)).toEqual(["shutting-down"]);
    expect(closed.map((environment) => environment.status)).toEqual(["gone"]);
  });
});
