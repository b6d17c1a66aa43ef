/**
 * Runs the simulator itself in Docker with docker/compose.yaml, as a user
 * would: builds its image offline, starts it with Compose, drives it with
 * the AWS SDK from the host, and stops it with `down`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
} from "@aws-sdk/client-lambda";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../simulator/sandbox/docker-orphans.ts";
import { type WarmstateClient, warmstateClient } from "../../simulator/testing/index.ts";
import { findEngineProblem, repositoryRoot } from "../sandbox/docker-harness.ts";
import {
  type ComposeCommand,
  findCompose,
  loopDevicesBackedBelow,
  makeSharedMount,
  mountsBelow,
  removeSharedMount,
  run,
} from "./compose-harness.ts";

const docker = new Dockerode();
const compose = await findCompose();
const engineProblem = await findEngineProblem(docker);
const problem =
  process.platform !== "linux"
    ? `the compose file needs a Linux host (host networking), not ${process.platform}`
    : typeof compose === "string"
      ? compose
      : engineProblem !== undefined
        ? engineProblem
        : process.getuid?.() !== 0
          ? "bind-mounting the data directory as a shared mount needs root"
          : undefined;

// CI installs docker-compose and starts the engine as root, so a problem there is a failure.
describe.runIf(problem !== undefined && process.env.CI)("docker compose in CI", () => {
  it("has compose, an engine and root", () => {
    expect(problem).toBeUndefined();
  });
});

const composeFile = path.join(repositoryRoot, "docker/compose.yaml");
const functionDir = path.join(repositoryRoot, "test/docker/fixtures/tmp-counter");
const functionName = "compose-tmp-counter";
// Relative to the repository, as compose.yaml expects; under the ignored .warmstate folder.
const dataDirName = `.warmstate/compose-test-${process.pid}`;
const dataDir = path.join(repositoryRoot, dataDirName);
const project = `warmstate-compose-test-${process.pid}`;
const MIB = 1024 * 1024;

interface CounterResult {
  count: number;
  tmpSizeBytes: number;
  uid: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no TCP port assigned");
  return address.port;
}

function payloadOf(output: InvokeCommandOutput): CounterResult {
  expect(output.FunctionError).toBeUndefined();
  return JSON.parse(new TextDecoder().decode(output.Payload)) as CounterResult;
}

describe.skipIf(problem !== undefined)(
  `simulator in docker compose${problem ? ` (skipped: ${problem})` : ""}`,
  () => {
    const command = compose as ComposeCommand;
    let port = 0;
    let env: NodeJS.ProcessEnv = {};
    let up: ChildProcess | undefined;
    let upOutput = "";
    let upExited: Promise<number | null> = Promise.resolve(null);
    let sharedMount = false;
    let lambda: LambdaClient;
    let ws: WarmstateClient;
    let simulatorPid = 0;
    const invocations: InvokeCommandOutput[] = [];

    const composeRun = (args: string[], timeoutMs = 60_000) =>
      run(command.file, [...command.args, "-p", project, "-f", composeFile, ...args], {
        cwd: repositoryRoot,
        env,
        timeoutMs,
      });

    beforeAll(async () => {
      await run(process.execPath, ["--import", "tsx", "docker/build-simulator-image.ts"], {
        cwd: repositoryRoot,
        timeoutMs: 120_000,
      });

      await mkdir(dataDir, { recursive: true });
      await chmod(dataDir, 0o755);
      await makeSharedMount(dataDir);
      sharedMount = true;

      port = await freePort();
      // Compose reads PWD for the repository's path; a spawned process inherits the test's.
      env = {
        ...process.env,
        PWD: repositoryRoot,
        WARMSTATE_PORT: String(port),
        WARMSTATE_DATA_DIR: dataDirName,
      };
      up = spawn(command.file, [...command.args, "-p", project, "-f", composeFile, "up"], {
        cwd: repositoryRoot,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      up.stdout?.on("data", (chunk: Buffer) => {
        upOutput += chunk.toString();
      });
      up.stderr?.on("data", (chunk: Buffer) => {
        upOutput += chunk.toString();
      });
      const child = up;
      upExited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

      const endpoint = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (up.exitCode !== null)
          throw new Error(`compose up exited with ${up.exitCode}: ${upOutput.slice(-2000)}`);
        try {
          ws = await warmstateClient(endpoint);
          break;
        } catch (error) {
          if (Date.now() > deadline)
            throw new Error(
              `The simulator did not answer at ${endpoint} within 60 s: ${upOutput.slice(-2000)}`,
              {
                cause: error,
              },
            );
          await sleep(250);
        }
      }
      lambda = new LambdaClient({
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });

      const [container] = await docker.listContainers({
        filters: { label: [`com.docker.compose.project=${project}`] },
      });
      simulatorPid = (await docker.getContainer(container.Id).inspect()).State.Pid;
    }, 180_000);

    afterAll(async () => {
      lambda?.destroy();
      if (command && env.PWD) await composeRun(["down"]).catch(() => undefined);
      if (up && up.exitCode === null) up.kill("SIGTERM");

      // Safety net when a test failed before `down`: remove what the run left.
      if (simulatorPid > 0) {
        const leftovers = await docker.listContainers({
          all: true,
          filters: { label: [`${LABELS.simulatorPid}=${simulatorPid}`] },
        });
        for (const leftover of leftovers)
          await docker
            .getContainer(leftover.Id)
            .remove({ force: true })
            .catch(() => undefined);
      }
      if (sharedMount) await removeSharedMount(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }, 120_000);

    it("creates a function from a folder", async () => {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: functionName,
          Runtime: "nodejs20.x",
          Role: "arn:aws:iam::000000000000:role/compose-test",
          Handler: "index.handler",
          Code: { S3Bucket: "hot-reload", S3Key: functionDir },
        }),
      );

      const fn = await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));

      expect(fn.Configuration?.FunctionName).toBe(functionName);
    });

    it("starts sandboxes on the host engine", async () => {
      invocations.push(await lambda.send(new InvokeCommand({ FunctionName: functionName })));

      const sandboxes = await docker.listContainers({
        filters: { label: [`${LABELS.simulatorPid}=${simulatorPid}`] },
      });
      expect(await ws.wasCold(invocations[0])).toBe(true);
      expect(sandboxes).toHaveLength(1);
      expect(sandboxes[0].Labels[LABELS.functionName]).toBe(functionName);
      expect(payloadOf(invocations[0]).uid).toBe(993);
    });

    it("reuses one environment when warm", async () => {
      invocations.push(await lambda.send(new InvokeCommand({ FunctionName: functionName })));
      invocations.push(await lambda.send(new InvokeCommand({ FunctionName: functionName })));

      expect(await ws.wasWarm(invocations[1])).toBe(true);
      expect(await ws.wasWarm(invocations[2])).toBe(true);
      expect(await ws.sameEnvironment(invocations[0], invocations[1])).toBe(true);
      expect(await ws.sameEnvironment(invocations[0], invocations[2])).toBe(true);
    });

    it("keeps /tmp across invocations", () => {
      expect(invocations.map((output) => payloadOf(output).count)).toEqual([1, 2, 3]);
    });

    it("backs /tmp with the loop-mounted image", async () => {
      const { tmpSizeBytes } = payloadOf(invocations[0]);

      // 512 MB of ephemeral storage by default, plus about 4% of ext4 metadata.
      expect(tmpSizeBytes).toBeGreaterThanOrEqual(512 * MIB);
      expect(tmpSizeBytes).toBeLessThan(600 * MIB);
      // The mount made inside the simulator's container reached the host.
      expect(await mountsBelow(dataDir)).toHaveLength(1);
      expect(await loopDevicesBackedBelow(dataDir)).toHaveLength(1);
    });

    it("leaves nothing behind after down", async () => {
      await composeRun(["down"], 90_000);
      const exitCode = await upExited;

      const sandboxes = await docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.simulatorPid}=${simulatorPid}`] },
      });
      const simulators = await docker.listContainers({
        all: true,
        filters: { label: [`com.docker.compose.project=${project}`] },
      });
      expect(exitCode).toBe(0);
      expect(upOutput).toContain("simulator stopped");
      expect(sandboxes).toEqual([]);
      expect(simulators).toEqual([]);
      expect(await mountsBelow(dataDir)).toEqual([]);
      expect(await loopDevicesBackedBelow(dataDir)).toEqual([]);
      expect(await readdir(path.join(dataDir, "docker/environments"))).toEqual([]);
    });
  },
);
