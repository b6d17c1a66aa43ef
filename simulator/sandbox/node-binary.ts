import { execFile } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../logger.ts";

const run = promisify(execFile);

/**
 * Finds a Node.js binary of the given major: `node<major>` on PATH and in
 * common install folders, then any `node` whose version matches, then this
 * process's own binary with a warning.
 */
export async function findNodeBinary(
  major: number,
  log: Logger,
  functionName?: string,
): Promise<string> {
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;

  const pathFolders = (process.env.PATH ?? "").split(":").filter(Boolean);
  const named = [...pathFolders, "/usr/local/bin", "/opt/bin"].map((folder) =>
    join(folder, `node${major}`),
  );
  const installs = [`/opt/node${major}/bin/node`, `/usr/local/lib/node${major}/bin/node`];
  const nvmRoot = join(homedir(), ".nvm", "versions", "node");
  const nvm = listFolder(nvmRoot)
    .filter((name) => name.startsWith(`v${major}.`))
    .map((name) => join(nvmRoot, name, "bin", "node"));
  const generic = [
    ...pathFolders.map((folder) => join(folder, "node")),
    "/usr/local/bin/node",
    "/usr/bin/node",
  ];

  for (const candidate of new Set([...named, ...installs, ...nvm, ...generic])) {
    if (!isExecutable(candidate)) continue;
    try {
      const { stdout } = await run(candidate, ["--version"]);
      if (stdout.trim().startsWith(`v${major}.`)) return candidate;
    } catch {
      // Not a working binary: try the next one.
    }
  }

  log.warn(
    {
      functionName,
      requestedMajor: major,
      used: process.execPath,
      usedVersion: process.versions.node,
    },
    `No Node.js ${major} binary found, so nodejs${major}.x functions run on the simulator's Node.js ${process.versions.node}. To run them on Node.js ${major}, install it as node${major} on PATH, /opt/node${major}/bin/node or with nvm.`,
  );
  return process.execPath;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function listFolder(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
