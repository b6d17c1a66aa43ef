import { readdirSync, readlinkSync, statfsSync, statSync } from "node:fs";
import type { TmpFileGroup } from "./backend.ts";
import { TmpFileGrouping, walkTmp } from "./tmp-listing.ts";

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
  /** /tmp files by name pattern, deleted-but-open ones included, when a /tmp was readable. */
  tmpFileGroups?: TmpFileGroup[];
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

  const grouping = new TmpFileGrouping();
  const tmpDevice = readTmpUsage(pids, sample, grouping);
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
        addDeletedFile(`/proc/${pid}/fd/${fd}`, target, tmpDevice, deletedInodes, sample, grouping);
      }
    }
  }

  if (tmpDevice !== null) sample.tmpFileGroups = grouping.groups();
  return sample;
}

// Fills the /tmp fields from the first pid whose root is readable; returns the
// device number of that /tmp, or null when no pid was readable.
function readTmpUsage(
  pids: number[],
  sample: DescriptorAndTmpSample,
  grouping: TmpFileGrouping,
): number | null {
  for (const pid of pids) {
    const tmp = `/proc/${pid}/root/tmp`;
    try {
      // statfs counts blocks of deleted files that are still open, which a walk cannot see.
      const stats = statfsSync(tmp);
      sample.tmpBytes = (stats.blocks - stats.bfree) * stats.bsize;
      const device = statSync(tmp).dev;
      walkTmp(grouping, tmp, device);
      sample.tmpFiles = grouping.files;
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
  target: string,
  tmpDevice: number,
  seen: Set<string>,
  sample: DescriptorAndTmpSample,
  grouping: TmpFileGrouping,
): void {
  try {
    const stats = statSync(fdPath);
    if (stats.dev !== tmpDevice || !stats.isFile()) return;

    const key = String(stats.ino);
    if (seen.has(key)) return;
    seen.add(key);
    sample.tmpDeletedOpenBytes += stats.blocks * 512;
    grouping.addDeletedFile(target.slice(0, -DELETED_SUFFIX.length), stats.blocks * 512);
  } catch {
    // Closed meanwhile.
  }
}
