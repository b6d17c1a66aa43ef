/**
 * Set-up of the compose test: which Compose command this machine has, a
 * data directory that is a shared mount (so loop mounts made inside the
 * simulator's container reach the host), and what a stopped simulator may
 * have left behind.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A Compose command: `docker-compose` (1.x) or `docker compose` (2.x). */
export interface ComposeCommand {
  file: string;
  args: string[];
  version: string;
}

/** Finds Compose 1.x (`docker-compose`) or else Compose 2.x (`docker compose`), or the reason neither runs. */
export async function findCompose(): Promise<ComposeCommand | string> {
  const candidates: Array<{ file: string; args: string[] }> = [
    { file: "docker-compose", args: [] },
    { file: "docker", args: ["compose"] },
  ];
  for (const candidate of candidates) {
    try {
      const { stdout } = await execFileAsync(
        candidate.file,
        [...candidate.args, "version", "--short"],
        { timeout: 10_000 },
      );
      return { ...candidate, version: stdout.trim() };
    } catch {
      // Try the next one.
    }
  }
  return "neither docker-compose nor the docker compose plugin is installed (Debian: apt-get install docker-compose)";
}

/** Runs a command with a time bound, rejecting with its output when it fails. */
export async function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${stderr || stdout || String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Bind-mounts `dir` onto itself as a shared mount with a peer group of its
 * own. Docker accepts `propagation: rshared` only for a source on a shared
 * mount, and the root mount is private on hosts without systemd. Needs root.
 */
export async function makeSharedMount(dir: string): Promise<void> {
  await run("mount", ["--bind", dir, dir]);
  await run("mount", ["--make-private", dir]);
  await run("mount", ["--make-shared", dir]);
}

/** Unmounts `dir` and everything below it, lazily when a mount is still busy. */
export async function removeSharedMount(dir: string): Promise<void> {
  try {
    await run("umount", ["-R", dir]);
  } catch {
    await run("umount", ["-l", dir]);
  }
}

/** Mount points below `dir` (not `dir` itself), from this process's mountinfo. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const prefix = `${path.resolve(dir)}/`;
  return mountinfo
    .split("\n")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
    )
    .filter((mountPoint) => mountPoint.startsWith(prefix));
}

/** Backing files under `dir` of attached loop devices, from /sys/block/loop*. */
export async function loopDevicesBackedBelow(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const device of await readdir("/sys/block")) {
    if (!device.startsWith("loop")) continue;
    let backingFile: string;
    try {
      backingFile = (await readFile(`/sys/block/${device}/loop/backing_file`, "utf8")).trim();
    } catch {
      // Detached loop devices have no loop/backing_file.
      continue;
    }
    if (backingFile.startsWith(`${path.resolve(dir)}/`)) found.push(`${device}: ${backingFile}`);
  }
  return found;
}
