/**
 * Measures what the docker backend costs on this machine: cold start of a
 * sandbox (create and start to first output), against a bare
 * `docker run --rm IMAGE` done through dockerode, and freeze plus thaw with
 * `pause` and with the cgroup freezer. Run with
 * `node --import tsx docker/measure-costs.ts`; needs a Docker Engine, root
 * and loop devices. Prints medians in milliseconds.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import pino from "pino";
import type { Sandbox, SandboxSpec } from "../simulator/sandbox/backend.ts";
import { DockerBackend } from "../simulator/sandbox/docker-backend.ts";
import { ensureSandboxImage } from "../simulator/sandbox/docker-image.ts";
import type { DockerFreezeMethod } from "../simulator/sandbox/docker-sandbox.ts";
import { createLoopTmp, removeLoopTmp } from "../simulator/sandbox/docker-tmp.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nodeModulesDir = path.join(root, "node_modules");
const probeDir = path.join(root, "test/fixtures/docker/probe");
const logger = pino({ level: "warn" });
const docker = new Dockerode();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10;
}

function spec(id: string, mode: string, memoryMb: number): SandboxSpec {
  return {
    environmentId: `measure-${id}`,
    functionName: "measure",
    codeDir: probeDir,
    entry: { kind: "bootstrap" },
    env: { PROBE_MODE: mode },
    runtimeApi: { host: "127.0.0.1", port: 9 },
    memoryMb,
    ephemeralStorageMb: 512,
    nofile: 1024,
    nproc: 1024,
  };
}

function firstOutput(sandbox: Sandbox): Promise<void> {
  return new Promise((resolve) => sandbox.onOutput(() => resolve()));
}

/** Durations of `docker run --rm IMAGE /bin/sh -c :` through dockerode: until exit, and with removal. */
async function bareRun(image: string): Promise<{ exited: number; removed: number }> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/sh", "-c", ":"],
  });
  await container.start();
  await container.wait();
  const exited = performance.now() - started;
  await container.remove();
  return { exited, removed: performance.now() - started };
}

/** Durations of a sandbox start: until `start()` resolves, until the first output, and of its stop. */
async function coldStart(
  backend: DockerBackend,
  memoryMb: number,
  round: number,
): Promise<{ started: number; output: number; stopped: number }> {
  const begin = performance.now();
  const sandbox = await backend.start(spec(`${memoryMb}-${round}`, "marker", memoryMb));
  const started = performance.now() - begin;
  await firstOutput(sandbox);
  const output = performance.now() - begin;
  const stopBegin = performance.now();
  await sandbox.stop(1_000);
  return { started, output, stopped: performance.now() - stopBegin };
}

async function freezeCosts(
  dataDir: string,
  method: DockerFreezeMethod,
): Promise<{ freeze: number; thaw: number }> {
  const backend = new DockerBackend({
    dataDir,
    logger,
    runtimeClientDir: root,
    nodeModulesDir,
    docker,
    freezeMethod: method,
  });
  const sandbox = await backend.start(spec(`freeze-${method}`, "tick", 1024));
  await firstOutput(sandbox);
  const freezes: number[] = [];
  const thaws: number[] = [];
  for (let round = 0; round < ROUNDS * 2; round++) {
    let started = performance.now();
    await sandbox.freeze();
    freezes.push(performance.now() - started);
    started = performance.now();
    await sandbox.thaw();
    thaws.push(performance.now() - started);
  }
  await backend.close();
  return { freeze: median(freezes), thaw: median(thaws) };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-measure-"));
try {
  const image = await ensureSandboxImage(docker, { nodeModulesDir, workDir: dataDir, logger });
  const backend = new DockerBackend({
    dataDir,
    logger,
    runtimeClientDir: root,
    nodeModulesDir,
    docker,
  });
  await coldStart(backend, 1769, -1); // warm the engine's caches and the backend's one-time checks

  const bare: Array<{ exited: number; removed: number }> = [];
  const loop: number[] = [];
  const cold128: Array<{ started: number; output: number; stopped: number }> = [];
  const cold1769: Array<{ started: number; output: number; stopped: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await bareRun(image));
    const started = performance.now();
    const folder = path.join(dataDir, `loop-${round}`);
    await createLoopTmp(folder, 512, { uid: 993, gid: 990 });
    loop.push(performance.now() - started);
    await removeLoopTmp(folder);
    cold128.push(await coldStart(backend, 128, round));
    cold1769.push(await coldStart(backend, 1769, round));
  }
  await backend.close();

  const pause = await freezeCosts(dataDir, "pause");
  const cgroup = await freezeCosts(dataDir, "cgroup");
  const column = <T>(rows: T[], key: keyof T) => median(rows.map((row) => row[key] as number));

  console.log(`rounds: ${ROUNDS}, medians in ms`);
  console.log(
    `docker run of /bin/sh -c ':': until exit / with --rm removal   ${column(bare, "exited")} / ${column(bare, "removed")}`,
  );
  console.log(`512 MB ext4 /tmp image: create, mkfs, mount                   ${median(loop)}`);
  for (const [label, rows] of [
    ["128 MB, 0.07 vCPU", cold128],
    ["1769 MB, 1 vCPU", cold1769],
  ] as const) {
    console.log(
      `sandbox ${label}: start() / first output / stop    ${column(rows, "started")} / ${column(rows, "output")} / ${column(rows, "stopped")}`,
    );
  }
  console.log(
    `freeze / thaw with docker pause                               ${pause.freeze} / ${pause.thaw}`,
  );
  console.log(
    `freeze / thaw with the cgroup freezer                         ${cgroup.freeze} / ${cgroup.thaw}`,
  );
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
}
