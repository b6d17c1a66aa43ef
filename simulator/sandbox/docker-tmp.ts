/**
 * /tmp of a docker sandbox: an ext4 image file of the ephemeral-storage
 * size, loop-mounted on the host under the data directory and bind-mounted
 * into the container.
 *
 * Why not a tmpfs: tmpfs pages are charged to the container's memory
 * cgroup, so a 64 MB container that writes 30 MB to a tmpfs /tmp is killed
 * by the OOM killer instead of getting ENOSPC. On Lambda /tmp is disk and
 * never counts against memory.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html
 */
import { execFile } from "node:child_process";
import { access, mkdir, open, readFile, rm, statfs } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** File name of the ext4 image inside an environment's folder. */
const IMAGE_FILE = "tmp.ext4";
/** Mount point of the image inside an environment's folder. */
const MOUNT_DIR = "tmp";

/** A loop-mounted /tmp on the host. */
export interface LoopTmp {
  /** Host folder of the environment, with the image file and the mount point. */
  folder: string;
  /** Host path where the image is mounted; bind-mounted as the container's /tmp. */
  mountPoint: string;
  /** Bytes the fresh file system already uses (metadata), subtracted from /tmp usage. */
  baselineUsedBytes: number;
}

/** Runs a host command, turning a failure into an error that names the command and its output. */
async function run(command: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(command, args);
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim();
    throw new Error(`${command} ${args.join(" ")} failed: ${stderr || String(error)}`, {
      cause: error,
    });
  }
}

// Image bytes per requested size that give at least the requested free space,
// learned from the first image of each size.
const imageBytesBySize = new Map<number, number>();

const MIB = 1024 * 1024;

/**
 * Creates a sparse ext4 image in `folder` whose free space is at least
 * `sizeMb` MiB, owned by `owner`, and mounts it at `folder/tmp`. Needs root
 * (mount) and loop devices.
 */
export async function createLoopTmp(
  folder: string,
  sizeMb: number,
  owner: { uid: number; gid: number },
): Promise<LoopTmp> {
  const imageFile = path.join(folder, IMAGE_FILE);
  const mountPoint = path.join(folder, MOUNT_DIR);
  await mkdir(mountPoint, { recursive: true });

  try {
    let imageBytes = imageBytesBySize.get(sizeMb) ?? sizeMb * MIB;
    for (let attempt = 0; ; attempt++) {
      await formatImage(imageFile, imageBytes, owner);
      await run("mount", ["-o", "loop,nosuid,nodev", imageFile, mountPoint]);
      const stats = await statfs(mountPoint);
      const missingBytes = sizeMb * MIB - stats.bavail * stats.bsize;
      if (missingBytes <= 0 || attempt >= 3) break;

      // Metadata grows with the image (inode tables are 256 B per 16 KiB), so add a little more.
      await run("umount", [mountPoint]);
      imageBytes += Math.ceil((missingBytes * 1.03) / MIB) * MIB;
    }
    imageBytesBySize.set(sizeMb, imageBytes);
    // Lambda's /tmp starts empty.
    await rm(path.join(mountPoint, "lost+found"), { recursive: true, force: true });
  } catch (error) {
    await removeLoopTmp(folder).catch(() => undefined);
    throw error;
  }

  const stats = await statfs(mountPoint);
  return { folder, mountPoint, baselineUsedBytes: (stats.blocks - stats.bfree) * stats.bsize };
}

async function formatImage(
  imageFile: string,
  imageBytes: number,
  owner: { uid: number; gid: number },
): Promise<void> {
  const handle = await open(imageFile, "w");
  try {
    await handle.truncate(imageBytes);
  } finally {
    await handle.close();
  }

  // With 4 KiB blocks, one inode per 16 KiB, no journal, no reserved blocks
  // and no room to grow, about 96% of the image is free. mkfs's defaults for
  // small file systems leave about 90%. Lazy inode tables and no discard
  // keep mkfs to a few milliseconds at any size.
  await run("mkfs.ext4", [
    "-q",
    "-F",
    "-m",
    "0",
    "-b",
    "4096",
    "-i",
    "16384",
    "-O",
    "^has_journal,^resize_inode",
    "-E",
    `root_owner=${owner.uid}:${owner.gid},lazy_itable_init=1,nodiscard`,
    "-L",
    "warmstate-tmp",
    imageFile,
  ]);
}

/**
 * Unmounts the image when it is mounted (the loop device detaches with it,
 * because `mount -o loop` sets autoclear) and deletes the folder.
 */
export async function removeLoopTmp(folder: string): Promise<void> {
  const mountPoint = path.join(folder, MOUNT_DIR);
  if (await isMountPoint(mountPoint)) {
    try {
      await run("umount", [mountPoint]);
    } catch {
      // A process may still hold the file system open: detach it lazily.
      await run("umount", ["-l", mountPoint]);
    }
  }
  await rm(folder, { recursive: true, force: true });
}

/** Returns true when `dir` is a mount point, from /proc/self/mountinfo. */
export async function isMountPoint(dir: string): Promise<boolean> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const resolved = path.resolve(dir);
  return mountinfo
    .split("\n")
    .some((line) => decodeMountPath(line.split(" ")[4] ?? "") === resolved);
}

// mountinfo escapes space, tab, newline and backslash as octal.
function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/**
 * Checks once whether this host can loop-mount an ext4 image (root, loop
 * devices, mkfs.ext4), by mounting a small one under `workDir`. Returns the
 * reason when it cannot.
 */
export async function probeLoopSupport(
  workDir: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== "linux")
    return { ok: false, reason: `${process.platform} has no loop devices` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "mounting a loop device needs root" };
  try {
    await access("/dev/loop-control");
  } catch {
    return { ok: false, reason: "/dev/loop-control is missing" };
  }

  const folder = path.join(workDir, `loop-probe-${process.pid}`);
  try {
    await createLoopTmp(folder, 8, { uid: 0, gid: 0 });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  } finally {
    await removeLoopTmp(folder).catch(() => undefined);
  }
}
