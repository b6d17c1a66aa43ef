import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KeptFile } from "./kept-file.ts";
import { pollPause } from "./process-tree.ts";

/**
 * Cgroup v1 hierarchies (memory, freezer, pids) as the process backend uses
 * them. Each backend owns one folder `warmstate-<pid>-<n>` per controller,
 * created under the cgroup the simulator itself runs in, and one child
 * folder per sandbox inside it.
 */

// TODO(sandbox): cgroup v2 is not used. A host with only the unified
// hierarchy gets the memory watchdog and SIGSTOP freezing.

/** Controllers the process backend uses. */
export type Controller = "memory" | "freezer" | "pids";

/** The simulator's own folder per writable controller. */
export type CgroupRoots = Partial<Record<Controller, string>>;

/** Mount point of a controller's hierarchy, and this process's cgroup inside it. */
export interface CgroupBase {
  mountPoint: string;
  ownCgroup: string;
}

/** Prefix of every cgroup and folder the process backend creates. */
export const OWNER_PREFIX = "warmstate-";

/** Name of one backend's cgroups and folder: `warmstate-<simulator pid>-<backend number>`. */
export function ownerName(pid: number, backendNumber: number): string {
  return `${OWNER_PREFIX}${pid}-${backendNumber}`;
}

/** Pid of the simulator that owns a cgroup or folder name, or null for another name. */
export function ownerPidOf(name: string): number | null {
  const match = new RegExp(`^${OWNER_PREFIX}(\\d+)-\\d+$`).exec(name);
  return match ? Number(match[1]) : null;
}

/**
 * Returns, per controller, the folder of the cgroup v1 hierarchy this
 * process belongs to, or nothing when the controller is not mounted as v1.
 */
export function findCgroupBases(): Partial<Record<Controller, CgroupBase>> {
  const bases: Partial<Record<Controller, CgroupBase>> = {};
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n");
  const membership = readFileSync("/proc/self/cgroup", "utf8").split("\n");

  for (const controller of ["memory", "freezer", "pids"] as const) {
    const mount = mounts
      .map((line) => line.split(" "))
      .find(([, , type, options]) => type === "cgroup" && options?.split(",").includes(controller));
    if (!mount) continue;

    // Lines of /proc/self/cgroup read "ID:controller,list:/path".
    const line = membership.find((entry) => entry.split(":")[1]?.split(",").includes(controller));
    const ownPath = line ? line.split(":").slice(2).join(":") : "/";
    bases[controller] = { mountPoint: mount[1], ownCgroup: resolve(mount[1], `.${ownPath}`) };
  }
  return bases;
}

/**
 * Creates the backend's folder under each base where this process may create
 * cgroups, trying the process's own cgroup first and the hierarchy root next.
 */
export function createCgroupRoots(
  bases: Partial<Record<Controller, CgroupBase>>,
  owner: string,
): CgroupRoots {
  const roots: CgroupRoots = {};
  for (const [controller, base] of Object.entries(bases) as [Controller, CgroupBase][]) {
    for (const parent of new Set([base.ownCgroup, base.mountPoint])) {
      const folder = join(parent, owner);
      try {
        mkdirSync(folder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") continue;
      }
      roots[controller] = folder;
      break;
    }
  }
  return roots;
}

/** Removes the simulator's own cgroup folders once every sandbox cgroup inside is gone. */
export function removeCgroupRoots(roots: CgroupRoots): void {
  for (const folder of Object.values(roots)) {
    removeCgroupTree(folder);
  }
}

/** Cgroups of one sandbox: one folder per writable controller. */
export class SandboxCgroups {
  readonly paths: CgroupRoots;
  readonly #freezerState: KeptFile | null;
  readonly #pidsCurrent: KeptFile | null;
  readonly #memoryPeak: KeptFile | null;
  /** Counter of freezes, thaws and removals; a confirmation stops once it changes. */
  #freezeAttempt = 0;
  #onFreezeStuck: ((message: string) => void) | undefined;

  constructor(roots: CgroupRoots, name: string, onFreezeStuck?: (message: string) => void) {
    this.#onFreezeStuck = onFreezeStuck;
    this.paths = {};
    for (const [controller, root] of Object.entries(roots) as [Controller, string][]) {
      this.paths[controller] = join(root, name);
    }
    const { freezer, pids, memory } = this.paths;
    this.#freezerState = freezer ? new KeptFile(join(freezer, "freezer.state"), "r+") : null;
    this.#pidsCurrent = pids ? new KeptFile(join(pids, "pids.current"), "r") : null;
    this.#memoryPeak = memory
      ? new KeptFile(join(memory, "memory.max_usage_in_bytes"), "r+")
      : null;
  }

  /** Creates the folders and sets the memory limit (memory+swap too where present) and pids.max. */
  create(options: { memoryBytes: number | null; maxTasks: number }): void {
    for (const path of Object.values(this.paths)) mkdirSync(path, { recursive: true });

    const memory = this.paths.memory;
    if (memory && options.memoryBytes !== null) {
      writeFileSync(join(memory, "memory.limit_in_bytes"), String(options.memoryBytes));
      const swapLimit = join(memory, "memory.memsw.limit_in_bytes");
      if (existsSync(swapLimit)) writeFileSync(swapLimit, String(options.memoryBytes));
    }
    if (this.paths.pids) writeFileSync(join(this.paths.pids, "pids.max"), String(options.maxTasks));
  }

  /** Files the launch script writes its own pid into before it execs the runtime. */
  procsFiles(): string[] {
    return Object.values(this.paths).map((path) => join(path, "cgroup.procs"));
  }

  /** Pids of every process in the sandbox, or null when no cgroup tracks them. */
  listPids(): number[] | null {
    // Not a KeptFile: cgroup v1 keeps the pid list of an open cgroup.procs
    // and serves it again to later reads for up to a second.
    const path = this.paths.freezer ?? this.paths.pids ?? this.paths.memory;
    if (!path) return null;
    return readPids(path);
  }

  /** Tasks (processes and threads) counted by the pids controller, or null without it. */
  taskCount(): number | null {
    return this.#pidsCurrent ? readKernelNumber(this.#pidsCurrent) : null;
  }

  /** Times the kernel's OOM killer killed a process in this cgroup. */
  oomKillCount(): number {
    if (!this.paths.memory) return 0;
    let text: string;
    try {
      text = readFileSync(join(this.paths.memory, "memory.oom_control"), "utf8");
    } catch {
      // Removed at stop while an exit was being handled.
      return 0;
    }
    const match = /^oom_kill (\d+)$/m.exec(text);
    return match ? Number(match[1]) : 0;
  }

  /** Highest memory charge since the last reset, page cache included, or null without a memory cgroup. */
  peakMemoryBytes(): number | null {
    return this.#memoryPeak ? readKernelNumber(this.#memoryPeak) : null;
  }

  /** Starts the peak over, for a new runtime process. */
  resetPeak(): void {
    this.#memoryPeak?.write("0");
  }

  /**
   * Freezes every task. It returns once the kernel has marked every task to
   * freeze, which is before each one has stopped: a task stops on its next
   * return from the kernel, so no code of the function runs after this
   * returns. Waiting for the freezer to report FROZEN cost more than the
   * write on the warm-invoke path, so that check runs in the background and
   * writes FROZEN again if tasks are still running after a while.
   */
  async freeze(): Promise<void> {
    const stateFile = this.#requireFreezer();
    const attempt = ++this.#freezeAttempt;
    stateFile.write("FROZEN");
    if (stateFile.read().trim() !== "FROZEN") void this.#confirmFrozen(stateFile, attempt);
  }

  async thaw(): Promise<void> {
    const stateFile = this.#requireFreezer();
    // Ends a background confirmation of the previous freeze.
    this.#freezeAttempt++;
    stateFile.write("THAWED");
  }

  /** Removes the folders, killing what is left inside first. */
  async remove(): Promise<void> {
    this.#freezeAttempt++;
    for (const file of [this.#freezerState, this.#pidsCurrent, this.#memoryPeak]) file?.close();
    await killCgroupMembers(this.paths);
    for (const path of Object.values(this.paths)) removeCgroupTree(path);
  }

  #requireFreezer(): KeptFile {
    if (!this.#freezerState)
      throw new Error("Cannot freeze the sandbox: no freezer cgroup; use signals instead.");
    return this.#freezerState;
  }

  // Polls until the state, FREEZING while tasks are still stopping, reads
  // FROZEN. Every 50 polls it writes FROZEN again, which retries tasks the
  // kernel could not stop on its first pass. It ends at a thaw, at removal,
  // or after 10 seconds with a logged warning.
  async #confirmFrozen(stateFile: KeptFile, attempt: number): Promise<void> {
    const started = performance.now();
    for (let poll = 0; this.#freezeAttempt === attempt; poll++) {
      let state: string;
      try {
        state = stateFile.read().trim();
      } catch {
        return;
      }
      if (state === "FROZEN") return;
      const elapsedMs = performance.now() - started;
      if (elapsedMs > 10_000) {
        this.#onFreezeStuck?.(
          `Freezer at ${this.paths.freezer} still reads ${state} 10 seconds after FROZEN was written.`,
        );
        return;
      }
      if (poll % 50 === 49) stateFile.write("FROZEN");
      await pollPause(started);
    }
  }
}

/** Thaws, then SIGKILLs every process in the given cgroups until none is left. */
export async function killCgroupMembers(paths: CgroupRoots): Promise<void> {
  // A frozen task only dies once thawed.
  if (paths.freezer) {
    const freezer = paths.freezer;
    unlessRemoved(() => writeFileSync(join(freezer, "freezer.state"), "THAWED"), undefined);
  }

  for (let attempt = 0; attempt < 500; attempt++) {
    const pids = new Set<number>();
    for (const path of Object.values(paths)) {
      if (existsSync(path)) for (const pid of readPids(path)) pids.add(pid);
    }
    if (pids.size === 0) return;

    for (const pid of pids) {
      // Orphans are found through one controller at a time, so a process
      // may sit in a frozen freezer cgroup that `paths` does not name.
      if (!paths.freezer) thawFreezerOf(pid);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await sleep(10);
  }
  throw new Error(
    `Processes in cgroups ${Object.values(paths).join(", ")} survived SIGKILL for 5 seconds.`,
  );
}

/** Lists backend folders under each base and its hierarchy root, with the owning pid. */
export function listOwnerFolders(
  bases: Partial<Record<Controller, CgroupBase>>,
): { path: string; controller: Controller; ownerPid: number }[] {
  const found: { path: string; controller: Controller; ownerPid: number }[] = [];
  for (const [controller, base] of Object.entries(bases) as [Controller, CgroupBase][]) {
    for (const parent of new Set([base.ownCgroup, base.mountPoint])) {
      let names: string[];
      try {
        names = readdirSync(parent);
      } catch {
        continue;
      }
      for (const name of names) {
        const ownerPid = ownerPidOf(name);
        if (ownerPid !== null) found.push({ path: join(parent, name), controller, ownerPid });
      }
    }
  }
  return found;
}

/** Kills what is inside a cgroup folder and its children, then removes them, deepest first. */
export async function removeOwnerFolder(path: string, controller: string): Promise<void> {
  const children = unlessRemoved(() => readdirSync(path, { withFileTypes: true }), []).filter(
    (entry) => entry.isDirectory(),
  );
  for (const child of children) {
    const childPath = join(path, child.name);
    await killCgroupMembers({ [controller]: childPath });
  }
  await killCgroupMembers({ [controller]: path });
  removeCgroupTree(path);
}

// Thaws the freezer cgroup a process belongs to, found in /proc/PID/cgroup.
function thawFreezerOf(pid: number): void {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .find((entry) => entry.split(":")[1]?.split(",").includes("freezer"));
    const relative = line?.split(":").slice(2).join(":");
    if (relative && relative !== "/") {
      writeFileSync(join(FREEZER_MOUNT, relative, "freezer.state"), "THAWED");
    }
  } catch {
    // Gone, or no freezer hierarchy: SIGKILL alone will do.
  }
}

// Mount point of the cgroup v1 freezer hierarchy on systemd and Docker hosts.
const FREEZER_MOUNT = "/sys/fs/cgroup/freezer";

function readPids(path: string): number[] {
  try {
    return readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// Reads a counter file; null once the cgroup is removed.
function readKernelNumber(file: KeptFile): number | null {
  try {
    return Number(file.read());
  } catch {
    return null;
  }
}

// Cgroup folders hold only kernel files, so rmdir (not recursive rm) removes them.
function removeCgroupTree(path: string): void {
  for (const entry of unlessRemoved(() => readdirSync(path, { withFileTypes: true }), [])) {
    if (entry.isDirectory()) removeCgroupTree(join(path, entry.name));
  }

  // rmdir fails with EBUSY for a moment after the last task died, until the
  // kernel has released it, so retry for up to about a second.
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || attempt >= 100) throw error;
      Atomics.wait(RMDIR_WAIT, 0, 0, 10);
    }
  }
}

// Runs a file operation on a cgroup folder, or returns `fallback` when the
// folder is gone: two simulators starting at once may both remove the same
// orphaned folder.
function unlessRemoved<T>(operation: () => T, fallback: T): T {
  try {
    return operation();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return fallback;
    throw error;
  }
}

// A shared word to block on for a short synchronous pause.
const RMDIR_WAIT = new Int32Array(new SharedArrayBuffer(4));
