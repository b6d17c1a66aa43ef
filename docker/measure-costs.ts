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

async function bareRun(image: string): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/sh", "-c", ":"],
  });
  await container.start();
  await container.wait();
  await container.remove();
  return performance.now() - started;
}

async function coldStart(backend: DockerBackend, memoryMb: number, round: number): Promise<number> {
  const started = performance.now();
  const sandbox = await backend.start(spec(`${memoryMb}-${round}`, "marker", memoryMb));
  await firstOutput(sandbox);
  const elapsed = performance.now() - started;
  await sandbox.stop(1_000);
  return elapsed;
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

  const bare: number[] = [];
  const loop: number[] = [];
  const cold128: number[] = [];
  const cold1769: number[] = [];
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

  console.log(`rounds: ${ROUNDS}, medians in ms`);
  console.log(`docker run --rm (create, start, wait, remove) of /bin/sh -c ':'   ${median(bare)}`);
  console.log(`512 MB ext4 /tmp image: create, mkfs, mount                       ${median(loop)}`);
  console.log(
    `sandbox cold start to first output, 128 MB (0.07 vCPU)            ${median(cold128)}`,
  );
  console.log(
    `sandbox cold start to first output, 1769 MB (1 vCPU)              ${median(cold1769)}`,
  );
  console.log(
    `freeze / thaw with docker pause                                   ${pause.freeze} / ${pause.thaw}`,
  );
  console.log(
    `freeze / thaw with the cgroup freezer                             ${cgroup.freeze} / ${cgroup.thaw}`,
  );
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
}
