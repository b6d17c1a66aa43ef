/**
 * Removal of what a killed simulator left behind with the docker backend:
 * labeled containers, loop-mounted /tmp images and their folders. Anything
 * that belongs to a simulator process still alive on this host stays.
 */
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import type Dockerode from "dockerode";
import type { Logger } from "../logger.ts";
import { findContainerCgroup, setCgroupFrozen } from "./docker-host-probe.ts";
import { removeLoopTmp } from "./docker-tmp.ts";

/** Labels on every container, so a later simulator can tell its own from orphans. */
export const LABELS = {
  simulatorPid: "warmstate.simulator-pid",
  simulatorHost: "warmstate.simulator-host",
  environmentId: "warmstate.environment-id",
  functionName: "warmstate.function-name",
  /** Host folder of the environment's /tmp image, removed with an orphan. */
  tmpFolder: "warmstate.tmp-folder",
} as const;

/** True when process `pid` of this host is alive (or alive but not ours to signal). */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes containers labeled by a simulator of this host whose process is
 * gone, then environment folders under `environmentsDir` (named
 * `<simulator pid>-<environment id>`) whose simulator is gone.
 */
export async function removeDockerOrphans(
  docker: Dockerode,
  environmentsDir: string,
  logger: Logger,
): Promise<void> {
  const thisHost = hostname();
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [LABELS.simulatorPid] },
  });

  for (const info of containers) {
    const labels = info.Labels ?? {};
    // A simulator on another host (or in another container) may be alive; its pid means nothing here.
    if (labels[LABELS.simulatorHost] !== thisHost) continue;
    const simulatorPid = Number(labels[LABELS.simulatorPid]);
    if (simulatorPid === process.pid || isAlive(simulatorPid)) continue;

    // A container frozen through its cgroup cannot die until thawed.
    const container = docker.getContainer(info.Id);
    const pid = await container.inspect().then(
      (inspected) => inspected.State.Pid,
      () => 0,
    );
    const cgroup = pid > 0 ? await findContainerCgroup(pid) : undefined;
    if (cgroup) await setCgroupFrozen(cgroup, false).catch(() => undefined);

    await container.remove({ force: true, v: true }).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    });
    const folder = labels[LABELS.tmpFolder];
    if (folder) await removeLoopTmp(folder);
    logger.info(
      { containerId: info.Id, environmentId: labels[LABELS.environmentId], simulatorPid },
      "orphan container removed",
    );
  }

  let folders: string[];
  try {
    folders = await readdir(environmentsDir);
  } catch {
    return;
  }
  for (const name of folders) {
    const pid = Number(name.split("-")[0]);
    if (pid === process.pid || isAlive(pid)) continue;
    await removeLoopTmp(path.join(environmentsDir, name));
    logger.info({ folder: name, simulatorPid: pid }, "orphan /tmp image removed");
  }
}
