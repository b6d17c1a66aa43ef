/**
 * Reads a container's processes, memory and /tmp from the host side: the
 * container's cgroup files and /proc of its processes. This needs the
 * simulator on the engine's host, able to read its /proc and /sys/fs/cgroup
 * (as root, or as the user of the container processes). Elsewhere the
 * sandbox falls back to the engine's API.
 */
import {
  readdirSync,
  readFileSync,
  readlinkSync,
  statfsSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ResourceSample } from "./backend.ts";
import { type TmpFileGrouping, walkTmp } from "./tmp-listing.ts";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Location of a container's cgroup files on the host. */
export type ContainerCgroup =
  | { version: 1; memory: string; freezer: string; procs: string }
  | { version: 2; dir: string };

/**
 * Finds the cgroup of host process `pid` (the container's init) from
 * /proc/PID/cgroup, or undefined when the host's /proc or cgroup files are
 * not visible from here.
 */
export async function findContainerCgroup(pid: number): Promise<ContainerCgroup | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    return undefined;
  }

  const byController = new Map<string, string>();
  for (const line of text.trim().split("\n")) {
    const [, controllers, cgroupPath] = line.split(":");
    for (const controller of controllers.split(",")) byController.set(controller, cgroupPath);
  }

  // NOTE: only cgroup v1 (cgroupfs driver) has run; the v2 branches follow the kernel's
  // cgroup-v2 file names (cgroup.freeze, cgroup.events, memory.current, memory.peak).
  const unified = byController.get("");
  const memory = byController.get("memory");
  const freezer = byController.get("freezer");
  const found: ContainerCgroup | undefined =
    memory !== undefined && freezer !== undefined
      ? {
          version: 1,
          memory: path.join(CGROUP_ROOT, "memory", memory),
          freezer: path.join(CGROUP_ROOT, "freezer", freezer),
          procs: path.join(CGROUP_ROOT, "memory", memory, "cgroup.procs"),
        }
      : unified !== undefined
        ? { version: 2, dir: path.join(CGROUP_ROOT, unified) }
        : undefined;
  if (!found) return undefined;

  // Inside a container of its own the simulator can read /proc but maybe not this cgroup.
  try {
    await stat(found.version === 1 ? found.procs : path.join(found.dir, "cgroup.procs"));
  } catch {
    return undefined;
  }
  return found;
}

/** Host pids of every process in the cgroup. */
export async function listCgroupPids(cgroup: ContainerCgroup): Promise<number[]> {
  const file = cgroup.version === 1 ? cgroup.procs : path.join(cgroup.dir, "cgroup.procs");
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(Number);
}

/** Memory charged to the cgroup and its peak, in bytes. */
export async function readCgroupMemory(
  cgroup: ContainerCgroup,
): Promise<{ currentBytes: number; peakBytes: number | undefined }> {
  const [current, peak] =
    cgroup.version === 1
      ? ["memory.usage_in_bytes", "memory.max_usage_in_bytes"].map((file) =>
          path.join(cgroup.memory, file),
        )
      : ["memory.current", "memory.peak"].map((file) => path.join(cgroup.dir, file));
  const currentBytes = Number(readFileSync(current, "utf8").trim());
  let peakBytes: number | undefined;
  try {
    peakBytes = Number(readFileSync(peak, "utf8").trim());
  } catch {
    // cgroup v2 kernels before 5.19 have no memory.peak.
  }
  return { currentBytes, peakBytes };
}

/**
 * Freezes or thaws the cgroup through the kernel's freezer and waits until
 * the kernel reports the new state, so no process runs after this resolves.
 * A cgroup v1 freeze can stay in FREEZING while a task is in an
 * uninterruptible wait; like runc, this thaws and tries again.
 */
export async function setCgroupFrozen(cgroup: ContainerCgroup, frozen: boolean): Promise<void> {
  const control =
    cgroup.version === 1
      ? {
          file: path.join(cgroup.freezer, "freezer.state"),
          value: frozen ? "FROZEN" : "THAWED",
          stateFile: path.join(cgroup.freezer, "freezer.state"),
          reached: (text: string) => text.trim() === (frozen ? "FROZEN" : "THAWED"),
        }
      : {
          file: path.join(cgroup.dir, "cgroup.freeze"),
          value: frozen ? "1" : "0",
          stateFile: path.join(cgroup.dir, "cgroup.events"),
          reached: (text: string) => text.includes(frozen ? "frozen 1" : "frozen 0"),
        };

  // Synchronous writes and reads, and polls on the next event-loop turn
  // before falling back to 1 ms timers: this runs twice per warm invocation,
  // and most freezes finish within microseconds.
  for (let attempt = 0; attempt < 20; attempt++) {
    writeFileSync(control.file, control.value);
    for (let poll = 0; poll < 50; poll++) {
      if (control.reached(readFileSync(control.stateFile, "utf8"))) return;
      if (poll < 10) await new Promise<void>((resolve) => setImmediate(resolve));
      else await sleep(1);
    }
    if (frozen && cgroup.version === 1) writeFileSync(control.file, "THAWED");
  }
  throw new Error(
    `The cgroup freezer did not reach ${control.value} in ${control.stateFile} after 20 attempts; stop the sandbox.`,
  );
}

/** Result of one pass over the sandbox's processes. */
export interface ProcessSample {
  openDescriptors: number;
  descriptorTargets: string[];
  /** Bytes of deleted files under /tmp that descriptors still hold. */
  tmpDeletedOpenBytes: number;
  residentBytes: number;
  /** Largest VmHWM (peak resident set) over the processes. */
  peakResidentBytes: number;
  /** Processes plus their threads. */
  processCount: number;
}

/**
 * Samples descriptors, resident memory and threads of host pids `pids`, and
 * adds deleted-but-open /tmp files to `grouping` when given. A process that
 * exits during the pass is skipped.
 */
export async function sampleProcesses(
  pids: number[],
  grouping?: TmpFileGrouping,
): Promise<ProcessSample> {
  const sample: ProcessSample = {
    openDescriptors: 0,
    descriptorTargets: [],
    tmpDeletedOpenBytes: 0,
    residentBytes: 0,
    peakResidentBytes: 0,
    processCount: 0,
  };
  const deletedInodes = new Set<string>();

  for (const pid of pids) {
    let status: string;
    let descriptors: string[];
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
      descriptors = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    sample.processCount += readStatusField(status, "Threads") || 1;
    sample.residentBytes += readStatusField(status, "VmRSS") * 1024;
    sample.peakResidentBytes = Math.max(
      sample.peakResidentBytes,
      readStatusField(status, "VmHWM") * 1024,
    );

    // Synchronous readlink, because each call through the thread pool pays a round trip:
    // a 1,024-descriptor sample took 6 ms this way and 14 ms async (2-vCPU VM, under load).
    const links = descriptors.map((fd) => `/proc/${pid}/fd/${fd}`);
    const targets = links.map(readLinkOrUndefined);
    for (const [index, target] of targets.entries()) {
      const link = links[index];
      if (target === undefined) continue;
      sample.openDescriptors += 1;
      sample.descriptorTargets.push(target);

      if (target.startsWith("/tmp/") && target.endsWith(" (deleted)")) {
        const info = statOrUndefined(link);
        const key = info ? `${info.dev}:${info.ino}` : undefined;
        if (info && key && !deletedInodes.has(key)) {
          deletedInodes.add(key);
          // Allocated blocks, as statfs counts them and the process backend reports them.
          sample.tmpDeletedOpenBytes += info.blocks * 512;
          grouping?.addDeletedFile(target.slice(0, -" (deleted)".length), info.blocks * 512);
        }
      }
    }
  }
  return sample;
}

function readLinkOrUndefined(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    // The descriptor was closed between readdir and readlink.
    return undefined;
  }
}

function readStatusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status);
  return match ? Number(match[1]) : 0;
}

/** Usage of a /tmp folder seen from the host. */
export interface TmpUsage {
  /** Bytes used on the file system, deleted-but-open files included. */
  usedBytes: number;
  /** Regular files visible under the folder. */
  files: number;
}

/**
 * Measures the /tmp file system mounted at `hostDir`: bytes used from
 * statfs minus `baselineUsedBytes` (metadata of the fresh file system), and
 * regular files by walking the tree into `grouping`. The walk is synchronous
 * because it runs after every warm invocation, and each call through the
 * thread pool pays a round trip.
 */
export async function measureTmp(
  hostDir: string,
  baselineUsedBytes: number,
  grouping: TmpFileGrouping,
): Promise<TmpUsage> {
  const stats = statfsSync(hostDir);
  const usedBytes = Math.max(0, (stats.blocks - stats.bfree) * stats.bsize - baselineUsedBytes);
  walkTmp(grouping, hostDir);
  return { usedBytes, files: grouping.files };
}

function statOrUndefined(file: string): import("node:fs").Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** Creates a sample with every count at zero, for a sandbox whose runtime is not running. */
export function emptySample(): ResourceSample {
  return {
    openDescriptors: 0,
    descriptorTargets: [],
    tmpBytes: 0,
    tmpFiles: 0,
    tmpDeletedOpenBytes: 0,
    residentBytes: 0,
    peakResidentBytes: 0,
    processCount: 0,
  };
}
