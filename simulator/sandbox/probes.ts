import { type Dirent, readdirSync, readlinkSync, statfsSync, statSync } from "node:fs";

/**
 * Resource probes that read a sandbox's processes from outside through
 * /proc: open descriptors and their targets, and /tmp as the sandbox sees it
 * (through /proc/PID/root, which enters the sandbox's mount namespace).
 */

/** Descriptors and /tmp usage of a set of processes. */
export interface DescriptorAndTmpSample {
  openDescriptors: number;
  descriptorTargets: string[];
  tmpBytes: number;
  tmpFiles: number;
  tmpDeletedOpenBytes: number;
}

const DELETED_SUFFIX = " (deleted)";

/**
 * Reads descriptors of every pid and the /tmp of the first live one. Sync
 * reads on purpose: a thousand readlink calls take about a millisecond
 * this way, far less than a round trip through the thread pool each.
 */
export function sampleDescriptorsAndTmp(pids: number[]): DescriptorAndTmpSample {
  const sample: DescriptorAndTmpSample = {
    openDescriptors: 0,
    descriptorTargets: [],
    tmpBytes: 0,
    tmpFiles: 0,
    tmpDeletedOpenBytes: 0,
  };

  const tmpDevice = readTmpUsage(pids, sample);
  const deletedInodes = new Set<string>();

  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }

    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      sample.openDescriptors += 1;
      sample.descriptorTargets.push(target);

      if (tmpDevice !== null && target.endsWith(DELETED_SUFFIX)) {
        addDeletedFile(`/proc/${pid}/fd/${fd}`, tmpDevice, deletedInodes, sample);
      }
    }
  }
  return sample;
}

// Fills the /tmp fields from the first pid whose root is readable; returns the
// device number of that /tmp, or null when no pid was readable.
function readTmpUsage(pids: number[], sample: DescriptorAndTmpSample): number | null {
  for (const pid of pids) {
    const tmp = `/proc/${pid}/root/tmp`;
    try {
      // statfs counts blocks of deleted files that are still open, which a walk cannot see.
      const stats = statfsSync(tmp);
      sample.tmpBytes = (stats.blocks - stats.bfree) * stats.bsize;
      const device = statSync(tmp).dev;
      sample.tmpFiles = countRegularFiles(tmp, device);
      return device;
    } catch {
      // The process exited or its /proc entry is not readable: try the next one.
    }
  }
  return null;
}

// Counts a deleted file on /tmp once, however many descriptors point at it.
function addDeletedFile(
  fdPath: string,
  tmpDevice: number,
  seen: Set<string>,
  sample: DescriptorAndTmpSample,
): void {
  try {
    const stats = statSync(fdPath);
    if (stats.dev !== tmpDevice || !stats.isFile()) return;

    const key = String(stats.ino);
    if (seen.has(key)) return;
    seen.add(key);
    sample.tmpDeletedOpenBytes += stats.blocks * 512;
  } catch {
    // Closed meanwhile.
  }
}

// Counts files of the /tmp file system only, so a folder mounted inside it
// (the code folder, when stored under the host's /tmp) does not count.
function countRegularFiles(folder: string, device: number): number {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return 0;
  }

  let count = 0;
  for (const entry of entries) {
    if (entry.isFile()) count += 1;
    if (!entry.isDirectory()) continue;

    const path = `${folder}/${entry.name}`;
    try {
      if (statSync(path).dev === device) count += countRegularFiles(path, device);
    } catch {
      // Removed meanwhile.
    }
  }
  return count;
}
