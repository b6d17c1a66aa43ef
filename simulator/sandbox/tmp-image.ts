import { execFile } from "node:child_process";
import {
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

/**
 * Sparse ext4 image files that back a sandbox's /tmp when running as root.
 * On Lambda /tmp is disk: a full /tmp gives ENOSPC and never counts against
 * memory, which a tmpfs inside a memory cgroup would break.
 */

const run = promisify(execFile);
const MIB = 1024 * 1024;
// Usable space above the requested size, for the extent blocks of large files.
const USABLE_MARGIN_BYTES = 256 * 1024;

/** Absolute paths of the tools the image needs. */
export interface ImageTools {
  mkfsExt4: string;
  losetup: string;
  dumpe2fs: string | null;
}

// No journal (the data need not survive a crash), no resize inode, lazy
// inode tables and no discard: mkfs then writes a few hundred KiB and takes
// about 5 ms for any size up to 10 GiB. 4-KiB blocks and one inode per
// 16 KiB keep the layout the same for small test sizes. No reserved blocks,
// so root and the sandbox user see the same free space.
const MKFS_OPTIONS = [
  "-q",
  "-F",
  "-b",
  "4096",
  "-i",
  "16384",
  "-m",
  "0",
  "-O",
  "^has_journal,^resize_inode",
  "-E",
  "lazy_itable_init=1,nodiscard",
];

// Image size per requested size, so the usable space is at least the
// requested size after ext4's metadata.
const imageBytesBySize = new Map<number, number>();

/** Creates a sparse ext4 image at `path` with at least `sizeMb` MiB of usable space. */
export async function createTmpImage(
  path: string,
  sizeMb: number,
  tools: ImageTools,
): Promise<void> {
  const known = imageBytesBySize.get(sizeMb);
  if (known !== undefined) {
    await formatImage(path, known, tools);
    return;
  }

  // First image of this size: format, read the usable space, and grow the
  // image by what is missing until the usable space reaches the size plus a
  // margin for the extent blocks of the files that fill it.
  const requiredUsable = sizeMb * MIB + USABLE_MARGIN_BYTES;
  let imageBytes = sizeMb * MIB;
  for (let attempt = 0; attempt < 4; attempt++) {
    await formatImage(path, imageBytes, tools);
    const usable = await readUsableBytes(path, tools);
    if (usable === null) {
      imageBytes = roundUp(Math.ceil(sizeMb * MIB * 1.05) + MIB, 4096);
      await formatImage(path, imageBytes, tools);
      break;
    }
    if (usable >= requiredUsable) break;
    imageBytes = roundUp(imageBytes + (requiredUsable - usable), 4096);
  }
  imageBytesBySize.set(sizeMb, imageBytes);
}

/** Attaches the image to a free loop device and returns the device path. */
export async function attachLoopDevice(imagePath: string, tools: ImageTools): Promise<string> {
  const { stdout } = await run(tools.losetup, ["--find", "--show", imagePath]);
  return stdout.trim();
}

/**
 * Detaches a loop device. While a mount still uses it the kernel only marks
 * it for removal, so this waits until the device is really free.
 */
export async function detachLoopDevice(device: string, tools: ImageTools): Promise<void> {
  try {
    await run(tools.losetup, ["--detach", device]);
  } catch (error) {
    // Already detached, for example by autoclear.
    if (!loopBackingFile(device)) return;
    throw new Error(`Failed to detach loop device ${device}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  for (let attempt = 0; attempt < 500 && loopBackingFile(device); attempt++) {
    await sleep(attempt < 10 ? 1 : 10);
  }
  if (loopBackingFile(device))
    throw new Error(`Loop device ${device} still attached 5 seconds after detach.`);
}

/** Attached loop devices with their backing file paths (without a " (deleted)" mark). */
export function attachedLoopDevices(): { device: string; backingFile: string }[] {
  const attached: { device: string; backingFile: string }[] = [];
  for (const name of readdirSync("/sys/block")) {
    if (!name.startsWith("loop")) continue;
    const backingFile = loopBackingFile(`/dev/${name}`);
    if (backingFile) attached.push({ device: `/dev/${name}`, backingFile });
  }
  return attached;
}

/** Checks once that this machine can format and attach an image; throws what failed. */
export async function checkLoopSupport(probePath: string, tools: ImageTools): Promise<void> {
  if (!existsSync("/dev/loop-control")) throw new Error("/dev/loop-control is missing");

  await formatImage(probePath, 8 * MIB, tools);
  try {
    const device = await attachLoopDevice(probePath, tools);
    await detachLoopDevice(device, tools);
  } finally {
    rmSync(probePath, { force: true });
  }
}

/** Backing file of a loop device, or null when the device is free. */
function loopBackingFile(device: string): string | null {
  const name = device.replace("/dev/", "");
  try {
    return readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8")
      .trim()
      .replace(/ \(deleted\)$/, "");
  } catch {
    return null;
  }
}

async function formatImage(path: string, bytes: number, tools: ImageTools): Promise<void> {
  writeFileSync(path, "");
  truncateSync(path, bytes);
  await run(tools.mkfsExt4, [...MKFS_OPTIONS, path]);
}

// Free blocks minus what ext4 keeps back for its own metadata when mounted
// (2% of the blocks, at most 4096), which dumpe2fs does not subtract.
async function readUsableBytes(path: string, tools: ImageTools): Promise<number | null> {
  if (!tools.dumpe2fs) return null;

  const { stdout } = await run(tools.dumpe2fs, ["-h", path]);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)$`, "m").exec(stdout)?.[1] ?? Number.NaN);
  const blockCount = field("Block count");
  const freeBlocks = field("Free blocks");
  const blockSize = field("Block size");
  if ([blockCount, freeBlocks, blockSize].some(Number.isNaN)) return null;

  const keptBack = Math.min(Math.floor(blockCount / 50), 4096);
  return (freeBlocks - keptBack) * blockSize;
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
