import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import type { RuntimeInvocationOutcome } from "../../simulator/lambda/runtime-api/types.ts";
import type { Sandbox } from "../../simulator/sandbox/backend.ts";
import { DockerBackend } from "../../simulator/sandbox/docker-backend.ts";
import {
  findEngineProblem,
  nodeModulesDir,
  OutputCollector,
  repositoryRoot,
  silentLogger,
} from "./docker-harness.ts";

const docker = new Dockerode();
const engineProblem = await findEngineProblem(docker);
const skipReason = engineProblem ? ` (skipped: ${engineProblem})` : "";
const handlerDir = path.join(repositoryRoot, "test/fixtures/docker/handler");

function payloadOf(outcome: RuntimeInvocationOutcome): Record<string, unknown> {
  if (outcome.kind !== "response")
    throw new Error(`Expected a response, got ${JSON.stringify(outcome)}`);
  return JSON.parse(outcome.payload.toString());
}

describe.skipIf(engineProblem !== undefined)(
  `docker sandbox with the runtime client${skipReason}`,
  () => {
    let dataDir: string;
    let backend: DockerBackend;
    let runtimeApi: RuntimeApiServer;
    let sandbox: Sandbox;
    let output: OutputCollector;
    let requests = 0;

    async function invoke(echo: string): Promise<Record<string, unknown>> {
      requests += 1;
      return payloadOf(
        await runtimeApi.invoke({
          requestId: `request-${requests}`,
          payload: Buffer.from(JSON.stringify({ echo })),
          deadlineMs: Date.now() + 30_000,
          invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:docker-handler",
          traceId: "Root=1-00000000-000000000000000000000000",
        }),
      );
    }

    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-docker-runtime-"));
      backend = new DockerBackend({
        dataDir,
        logger: silentLogger,
        runtimeClientDir: path.join(repositoryRoot, "simulator/runtime"),
        nodeModulesDir,
        docker,
      });
      runtimeApi = await RuntimeApiServer.start({ logger: silentLogger });
      sandbox = await backend.start({
        environmentId: `runtime-${process.pid}`,
        functionName: "docker-handler",
        codeDir: handlerDir,
        entry: { kind: "node", nodeMajor: 20 },
        env: {
          _HANDLER: "index.handler",
          AWS_LAMBDA_FUNCTION_NAME: "docker-handler",
          AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
        },
        runtimeApi: { host: runtimeApi.host, port: runtimeApi.port },
        memoryMb: 512,
        ephemeralStorageMb: 512,
        nofile: 1024,
        nproc: 1024,
      });
      output = new OutputCollector(sandbox);
    }, 300_000);

    afterAll(async () => {
      await sandbox?.stop(1_000);
      await backend?.close();
      await runtimeApi?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it("initializes the handler", async () => {
      const init = await runtimeApi.waitForInit();

      expect(init).toEqual({ kind: "ready" });
    });

    it("invokes with sharp and PDFium loaded", async () => {
      const result = await invoke("first");

      expect(result.invocations).toBe(1);
      expect(result.echo).toBe("first");
      expect(result.pngBytes).toBeGreaterThan(0);
      expect(result.pdfium).toBe("function");
      expect(result.uid).toBe(993);
      expect(result.requestId).toBe("request-1");
    });

    it("keeps module state across a freeze", async () => {
      await sandbox.freeze();
      await sandbox.thaw();

      const result = await invoke("second");

      expect(result.invocations).toBe(2);
    });

    it("measures the leaked descriptors", async () => {
      const sample = await sandbox.measure();

      expect(sample.descriptorTargets).toEqual(
        expect.arrayContaining(["/tmp/leak-1.txt", "/tmp/leak-2.txt"]),
      );
      expect(sample.tmpFiles).toBe(2);
      expect(output.exits).toEqual([]);
    });
  },
);
