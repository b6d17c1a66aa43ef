import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A process and its descendants read from /proc, for when no cgroup tracks
 * the sandbox's processes. A process that detaches by a double fork is
 * reparented outside the tree and escapes this view.
 */

/** Pids of `rootPid` and all its descendants, parents before children. */
export function listProcessTree(rootPid: number): number[] {
  const pids: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    pids.push(pid);

    // Children are listed per thread that forked them.
    for (const tid of threads) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (children) queue.push(...children.split(" ").map(Number));
      } catch {
        // The thread exited meanwhile.
      }
    }
  }
  return pids;
}

/**
 * Pids of every live process in the pid namespace whose init is `initPid`
 * and that descends from that init, the init and zombies excluded. Orphans
 * of the namespace are reparented to its init, so this finds the processes
 * that detached from the runtime. The init never reaps, so a detached
 * process that exits stays a zombie until the sandbox stops. Walking the
 * init's tree reads a few files per member, where comparing the namespace
 * link of every process on the host took 0.4 ms for 110 processes.
 */
export function listNamespaceOrphans(initPid: number): number[] {
  return listProcessTree(initPid).filter((pid) => pid !== initPid && !isZombie(pid));
}

/** Sends a signal to each pid, ignoring those already gone. */
export function signalProcesses(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Proportional set size summed over the pids: a page shared by n processes
 * counts 1/n in each, so a fork does not double the total as a sum of
 * VmRSS would.
 */
export function residentBytesOf(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      kib += Number(/^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // Exited meanwhile, or a kernel without smaps_rollup (before 4.14).
    }
  }
  return kib * 1024;
}

/**
 * Resident set size summed over the pids, from /proc/PID/statm. Pages shared
 * between processes count once per process, so it is cheaper but coarser
 * than {@link residentBytesOf}: reading smaps_rollup walks every mapping and
 * cost more than the rest of a probe together (about 0.3 ms for a Node.js
 * runtime, measured on a 2-core VM).
 */
export function rssBytesOf(pids: number[]): number {
  let pages = 0;
  for (const pid of pids) {
    try {
      const statm = readFileSync(`/proc/${pid}/statm`, "utf8");
      pages += Number(statm.split(" ")[1] ?? 0);
    } catch {
      // Exited meanwhile.
    }
  }
  return pages * PAGE_BYTES;
}

/** Page size of Linux on x86-64 and arm64 in 4 KiB configurations. */
export const PAGE_BYTES = 4096;

/** Processes plus threads over the pids. */
export function taskCountOf(pids: number[]): number {
  let tasks = 0;
  for (const pid of pids) {
    try {
      tasks += readdirSync(`/proc/${pid}/task`).length;
    } catch {
      // Exited meanwhile.
    }
  }
  return tasks;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] === "Z";
  } catch {
    // Gone: no longer a member.
    return true;
  }
}

/**
 * Sends `signal` to every pid `listPids` returns, listing again until no new
 * process appears, so a child forked meanwhile gets it too. Returns every
 * pid signalled.
 */
export function signalUntilNoNewProcess(
  listPids: () => number[],
  signal: NodeJS.Signals,
): number[] {
  const signalled = new Set<number>();
  for (let pids = listPids(); pids.some((pid) => !signalled.has(pid)); pids = listPids()) {
    const fresh = pids.filter((pid) => !signalled.has(pid));
    signalProcesses(fresh, signal);
    for (const pid of fresh) signalled.add(pid);
  }
  return [...signalled];
}

/** SIGSTOPs a process tree, repeating until no new process appears, and waits until each is stopped. */
export async function stopProcessTree(listPids: () => number[]): Promise<void> {
  const signalled = signalUntilNoNewProcess(listPids, "SIGSTOP");
  for (const pid of signalled) {
    const started = performance.now();
    for (let attempt = 0; attempt < 1000 && isRunning(pid); attempt++) await pollPause(started);
  }
}

/**
 * Waits before the next check of a state the kernel changes within
 * microseconds: the next turn of the event loop for the first 2 ms (a timer
 * waits at least 1 ms), then 2 ms.
 */
export async function pollPause(startedMs: number): Promise<void> {
  if (performance.now() - startedMs < 2)
    await new Promise<void>((resolve) => setImmediate(resolve));
  else await sleep(2);
}

// State letters of /proc/PID/stat: R running or runnable, S sleeping,
// T stopped, t traced, Z zombie, X dead.
export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== null && !"TtZX".includes(state);
}

/** Returns the state letter of /proc/PID/stat, or null once the process is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  } catch {
    return null;
  }
}
