import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type CgroupBase,
  type CgroupRoots,
  type Controller,
  createCgroupRoots,
  findCgroupBases,
} from "./cgroup-v1.ts";
import { checkLoopSupport, type ImageTools } from "./tmp-image.ts";

/**
 * Detection of the isolation mechanisms the process backend can use on this
 * machine, once per backend. Root gets mount namespaces, loop-mounted ext4
 * images and cgroup v1. Other users get an unprivileged user namespace, a
 * sized tmpfs, a memory watchdog and SIGSTOP/SIGCONT.
 */

/** Absolute paths of the programs the launch script and the backend run. */
export interface Tools extends ImageTools {
  sh: string;
  unshare: string;
  nsenter: string;
  sleep: string;
  setpriv: string;
  prlimit: string;
  mount: string;
  chmod: string;
  mkdir: string;
}

/** The mechanisms in use, as logged once at start. */
export interface ProcessMechanisms {
  /** Namespaces each sandbox gets. */
  isolation: "mount namespace" | "user and mount namespace";
  /** Backing of /tmp. */
  tmpKind: "ext4 loop image" | "tmpfs";
  memoryEnforcement: "memory cgroup" | "watchdog";
  freezing: "cgroup freezer" | "signals";
  /** Source of the list of a sandbox's processes. */
  processTracking: "cgroup" | "process tree";
  /** User the runtime runs as. */
  sandboxUser: "uid per sandbox" | "root of the user namespace";
  cgroupRoots: CgroupRoots;
  cgroupBases: Partial<Record<Controller, CgroupBase>>;
  tools: Tools;
}

/** Settings that force a mechanism, for tests of the fallbacks. */
export interface MechanismOverrides {
  /** Use the mechanisms of a non-root user even when running as root. */
  unprivileged?: boolean;
  freezing?: ProcessMechanisms["freezing"];
}

const run = promisify(execFile);
const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Detects the mechanisms; throws when neither root nor a user namespace is available. */
export async function detectMechanisms(options: {
  dataDir: string;
  ownerFolder: string;
  ownerName: string;
  overrides: MechanismOverrides;
}): Promise<{ mechanisms: ProcessMechanisms; fallbackReasons: string[] }> {
  const tools = findTools();
  const fallbackReasons: string[] = [];
  const privileged = process.getuid?.() === 0 && !options.overrides.unprivileged;
  const cgroupBases = findCgroupBases();

  if (!privileged) {
    await checkUserNamespace(tools);
    const mechanisms: ProcessMechanisms = {
      isolation: "user and mount namespace",
      tmpKind: "tmpfs",
      memoryEnforcement: "watchdog",
      freezing: "signals",
      processTracking: "process tree",
      sandboxUser: "root of the user namespace",
      cgroupRoots: {},
      cgroupBases,
      tools,
    };
    return { mechanisms, fallbackReasons: ["not running as root"] };
  }

  let tmpKind: ProcessMechanisms["tmpKind"] = "ext4 loop image";
  try {
    mkdirSync(options.ownerFolder, { recursive: true });
    await checkLoopSupport(join(options.ownerFolder, "loop-check.img"), tools);
  } catch (error) {
    tmpKind = "tmpfs";
    fallbackReasons.push(`no loop-mounted ext4: ${(error as Error).message}`);
  }

  const cgroupRoots = createCgroupRoots(cgroupBases, options.ownerName);
  // Pages of a tmpfs are charged to the memory cgroup of the process that
  // writes them, so a full tmpfs /tmp would count as memory.
  if (tmpKind === "tmpfs" && cgroupRoots.memory) {
    fallbackReasons.push("memory cgroup unused because /tmp is a tmpfs");
    delete cgroupRoots.memory;
  }
  if (!cgroupRoots.memory) fallbackReasons.push("no writable memory cgroup");
  if (!cgroupRoots.freezer) fallbackReasons.push("no writable freezer cgroup");

  const freezing =
    options.overrides.freezing ?? (cgroupRoots.freezer ? "cgroup freezer" : "signals");
  const mechanisms: ProcessMechanisms = {
    isolation: "mount namespace",
    tmpKind,
    memoryEnforcement: cgroupRoots.memory ? "memory cgroup" : "watchdog",
    freezing: freezing === "cgroup freezer" && !cgroupRoots.freezer ? "signals" : freezing,
    processTracking: Object.keys(cgroupRoots).length > 0 ? "cgroup" : "process tree",
    sandboxUser: "uid per sandbox",
    cgroupRoots,
    cgroupBases,
    tools,
  };
  return { mechanisms, fallbackReasons };
}

function findTools(): Tools {
  const find = (name: string): string | null => {
    for (const folder of SEARCH_PATH) {
      const candidate = join(folder, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not in this folder.
      }
    }
    return null;
  };
  const require = (name: string, packageName: string): string => {
    const found = find(name);
    if (!found) {
      throw new Error(
        `The process backend needs ${name}, which is not installed: install ${packageName}.`,
      );
    }
    return found;
  };

  return {
    sh: require("sh", "dash or bash"),
    unshare: require("unshare", "util-linux"),
    nsenter: require("nsenter", "util-linux"),
    sleep: require("sleep", "coreutils"),
    setpriv: require("setpriv", "util-linux"),
    prlimit: require("prlimit", "util-linux"),
    mount: require("mount", "mount (util-linux)"),
    chmod: require("chmod", "coreutils"),
    mkdir: require("mkdir", "coreutils"),
    losetup: find("losetup") ?? "losetup",
    mkfsExt4: find("mkfs.ext4") ?? "mkfs.ext4",
    dumpe2fs: find("dumpe2fs"),
  };
}

async function checkUserNamespace(tools: Tools): Promise<void> {
  try {
    await run(tools.unshare, ["--user", "--map-root-user", "--mount", tools.sh, "-c", "true"]);
  } catch (error) {
    throw new Error(
      "The process backend needs root or unprivileged user namespaces, and creating a user namespace failed " +
        `(${(error as Error).message.trim()}). Enable kernel.unprivileged_userns_clone, run as root, or use the docker backend.`,
      { cause: error },
    );
  }
}
