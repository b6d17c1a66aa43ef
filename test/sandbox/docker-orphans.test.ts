import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerBackend, LABELS } from "../../simulator/sandbox/docker-backend.ts";
import {
  type ContainerCgroup,
  findContainerCgroup,
  setCgroupFrozen,
} from "../../simulator/sandbox/docker-host-probe.ts";
import { ensureSandboxImage, IMAGE_NODE_PATH } from "../../simulator/sandbox/docker-image.ts";
import { createLoopTmp, isMountPoint } from "../../simulator/sandbox/docker-tmp.ts";
import {
  findEngineProblem,
  nodeModulesDir,
  runtimeClientDir,
  silentLogger,
} from "./docker-harness.ts";

const docker = new Dockerode();
const engineProblem = await findEngineProblem(docker);
const skipReason = engineProblem ? ` (skipped: ${engineProblem})` : "";

describe.skipIf(engineProblem !== undefined)(`docker orphan removal${skipReason}`, () => {
  let dataDir: string;
  let backend: DockerBackend;
  let image: string;
  let liveSimulator: ChildProcess;
  const containers: Dockerode.Container[] = [];

  // A labeled container with a loop-mounted /tmp, as a simulator with pid `simulatorPid` leaves it.
  async function leaveEnvironment(
    simulatorPid: number,
    name: string,
  ): Promise<{ container: Dockerode.Container; folder: string }> {
    const folder = path.join(backend.environmentsDir, `${simulatorPid}-${name}`);
    const tmp = await createLoopTmp(folder, 16, { uid: 993, gid: 990 });
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: [IMAGE_NODE_PATH, "-e", "setInterval(() => {}, 60000)"],
      Labels: {
        [LABELS.simulatorPid]: String(simulatorPid),
        [LABELS.simulatorHost]: os.hostname(),
        [LABELS.environmentId]: name,
        [LABELS.tmpFolder]: folder,
      },
      HostConfig: { Binds: [`${tmp.mountPoint}:/tmp`], NetworkMode: "none" },
    });
    await container.start();
    containers.push(container);
    return { container, folder };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-orphans-"));
    backend = new DockerBackend({
      dataDir,
      logger: silentLogger,
      runtimeClientDir,
      nodeModulesDir,
      docker,
    });
    image = await ensureSandboxImage(docker, {
      nodeModulesDir,
      workDir: dataDir,
      logger: silentLogger,
    });
    liveSimulator = spawn("sleep", ["120"], { stdio: "ignore" });
  }, 300_000);

  afterAll(async () => {
    if (liveSimulator && liveSimulator.exitCode === null) {
      const exited = new Promise((resolve) => liveSimulator.once("exit", resolve));
      liveSimulator.kill("SIGKILL");
      await exited;
    }
    for (const container of containers)
      await container.remove({ force: true }).catch(() => undefined);
    await backend?.close();
    // The live simulator's folder is still mounted; removeOrphans would now remove it.
    await backend?.removeOrphans();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("removes the container, mount and folder of a dead simulator", async () => {
    const deadPid = spawnSync("true").pid as number;
    const { container, folder } = await leaveEnvironment(deadPid, "orphan");

    await backend.removeOrphans();

    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await isMountPoint(path.join(folder, "tmp"))).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });

  it("removes an orphan left frozen by its cgroup", async () => {
    const deadPid = spawnSync("true").pid as number;
    const { container, folder } = await leaveEnvironment(deadPid, "frozen-orphan");
    const cgroup = await findContainerCgroup((await container.inspect()).State.Pid);
    expect(cgroup).toBeDefined();
    await setCgroupFrozen(cgroup as ContainerCgroup, true);

    await backend.removeOrphans();

    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(existsSync(folder)).toBe(false);
  });

  it("keeps what a live simulator owns", async () => {
    const { container, folder } = await leaveEnvironment(liveSimulator.pid as number, "alive");

    await backend.removeOrphans();

    expect((await container.inspect()).State.Running).toBe(true);
    expect(await isMountPoint(path.join(folder, "tmp"))).toBe(true);
  });

  it("removes a folder left without a container", async () => {
    const deadPid = spawnSync("true").pid as number;
    const folder = path.join(backend.environmentsDir, `${deadPid}-folder-only`);
    await createLoopTmp(folder, 16, { uid: 993, gid: 990 });

    await backend.removeOrphans();

    expect(await isMountPoint(path.join(folder, "tmp"))).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });
});
