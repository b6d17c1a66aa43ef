import { existsSync, readFileSync, realpathSync, type Stats, statSync } from "node:fs";
import path from "node:path";
import type { SandboxBackend } from "../sandbox/backend.ts";
import { SANDBOX_USER } from "../sandbox/docker-image.ts";
import type { ProcessBackend } from "../sandbox/process-backend.ts";
import { InvalidParameterValueException } from "./errors.ts";

/**
 * Checks of a function's code folder that CreateFunction and
 * UpdateFunctionCode run before they accept it: whether the sandbox user
 * can read it, and whether Node.js would load its `.js` handler as an ES
 * module where Lambda loads it as CommonJS.
 */

/**
 * How sandboxes reach a function's code folder, which decides the
 * permissions the folder needs.
 *
 * - `same-user`: the runtime runs as the simulator's own user (the process
 *   backend without root, as the root of a user namespace), so a folder the
 *   simulator can read is readable in the sandbox too.
 * - `other-user` through `host-path`: the runtime runs as a separate uid
 *   and opens the code at its host path (the process backend as root), so
 *   every folder above the code needs search (x) permission for that uid.
 * - `other-user` through `mount`: an engine running as root mounts the code
 *   folder at /var/task (the docker backend), so only the folder itself and
 *   what is inside it must be readable by that uid.
 */
export type SandboxCodeAccess =
  | { kind: "same-user" }
  | { kind: "other-user"; via: "host-path" | "mount"; uid?: number; gid?: number };

/** Returns how the backend's sandboxes reach code folders. */
export async function sandboxCodeAccessOf(backend: SandboxBackend): Promise<SandboxCodeAccess> {
  if (backend.name === "docker") {
    return { kind: "other-user", via: "mount", uid: SANDBOX_USER.uid, gid: SANDBOX_USER.gid };
  }
  const mechanisms = await (backend as ProcessBackend).mechanisms();
  // As root, each process sandbox gets its own uid (and gid) from a high
  // range. The runtime runs as that uid, or in a user namespace that the uid
  // owns, so either way the permission bits for others apply.
  const separateUid = mechanisms.sandboxUser === "uid per sandbox" || process.getuid?.() === 0;
  return separateUid ? { kind: "other-user", via: "host-path" } : { kind: "same-user" };
}

/** A folder on the way to the code that the sandbox user cannot enter or list. */
export interface UnreadableFolder {
  folder: string;
  /** Permission bits of the folder, such as `700`. */
  mode: string;
  /** The permission others lack: `x` (enter) or `rx` (list and enter). */
  missing: "x" | "rx";
}

/**
 * Finds the first folder that keeps the sandbox user from reading the code
 * folder, or returns undefined when the sandbox can read it.
 * NOTE: only the permission bits count, so POSIX ACLs are ignored. Files
 * inside the folder are not checked, so an unreadable file fails only when
 * the function loads it.
 */
export function findUnreadableFolder(
  codeDir: string,
  access: SandboxCodeAccess,
): UnreadableFolder | undefined {
  if (access.kind === "same-user") return undefined;

  const targets = new Set([path.resolve(codeDir)]);
  try {
    targets.add(realpathSync(codeDir));
  } catch {
    // A missing folder is reported by the caller's own existence check.
  }

  for (const target of targets) {
    if (access.via === "host-path") {
      for (const ancestor of ancestorsOf(target)) {
        const stats = statSync(ancestor);
        if (!permits(stats, access, 0o1)) return unreadable(ancestor, stats, "x");
      }
    }
    const stats = statSync(target);
    if (!permits(stats, access, 0o5)) return unreadable(target, stats, "rx");
  }
  return undefined;
}

/**
 * Rejects a hot-reload code folder that the sandbox user cannot read, with
 * InvalidParameterValueException naming the folder that blocks it and the fix.
 * Without this check the function fails only at Invoke, with a misleading
 * `Runtime.ImportModuleError: Cannot find module`.
 */
export function assertHotReloadFolderReadable(codeDir: string, access: SandboxCodeAccess): void {
  const blocked = findUnreadableFolder(codeDir, access);
  if (!blocked) return;
  throw new InvalidParameterValueException(
    `Invalid value for Code.S3Key: the sandbox user cannot read the code folder ${codeDir}, because other users lack ${blocked.missing} permission on ${blocked.folder} (mode ${blocked.mode}). ` +
      "Sandboxes run as a separate user, so every folder above the code needs execute (x) permission for others, and the code folder needs read and execute (rx). " +
      `Run "chmod o+${blocked.missing} ${blocked.folder}", or move the code to a folder that other users can read.`,
  );
}

/**
 * Rejects a zip upload when the sandbox user could not read the folder the
 * simulator unpacks archives into (`<data dir>/functions`), for example a data
 * directory under a home folder with mode 700.
 */
export function assertUnpackFolderReadable(functionsRoot: string, access: SandboxCodeAccess): void {
  const blocked = findUnreadableFolder(functionsRoot, access);
  if (!blocked) return;
  throw new InvalidParameterValueException(
    `Invalid value for Code.ZipFile: the sandbox user could not read code unpacked under ${functionsRoot}, because other users lack ${blocked.missing} permission on ${blocked.folder} (mode ${blocked.mode}). ` +
      `Sandboxes run as a separate user. Run "chmod o+${blocked.missing} ${blocked.folder}", or start the simulator with a --data-dir that other users can read.`,
  );
}

/** A hot-reload `.js` handler that Node.js loads as an ES module because of a package.json above the code folder. */
export interface ModuleTypeConflict {
  handlerFile: string;
  packageJson: string;
}

/**
 * Finds whether the `.js` file of a Node.js handler would load as an ES
 * module because the nearest package.json sits above the code folder and
 * sets `"type": "module"`. Lambda unpacks the code in /var/task with no
 * package.json above it, so there the same file loads as CommonJS.
 * Returns undefined when the handler is not a `.js` file or when a
 * package.json inside the code folder decides the type.
 */
export function findModuleTypeConflict(
  codeDir: string,
  handler: string,
): ModuleTypeConflict | undefined {
  // The runtime client splits the handler the same way: the folder part,
  // then the file name up to the first dot.
  const fileAndExport = path.basename(handler);
  const dot = fileAndExport.indexOf(".");
  if (dot === -1) return undefined;
  const moduleFolder = handler.slice(0, handler.length - fileAndExport.length);
  const base = path.resolve(codeDir, moduleFolder, fileAndExport.slice(0, dot));
  const handlerFile = `${base}.js`;
  if (existsSync(base) || !existsSync(handlerFile)) return undefined;

  const root = path.resolve(codeDir);
  for (let folder = path.dirname(base); ; folder = path.dirname(folder)) {
    // Node.js stops its package.json search at a node_modules folder.
    if (path.basename(folder) === "node_modules") return undefined;
    const packageJson = path.join(folder, "package.json");
    if (existsSync(packageJson)) {
      const insideCode = folder === root || folder.startsWith(`${root}${path.sep}`);
      if (insideCode || readPackageType(packageJson) !== "module") return undefined;
      return { handlerFile, packageJson };
    }
    if (folder === path.dirname(folder)) return undefined;
  }
}

function readPackageType(packageJson: string): unknown {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { type?: unknown }).type;
  } catch {
    // Node.js fails on an unreadable package.json itself, with its own message.
    return undefined;
  }
}

// Folders above `target`, from the root down.
function ancestorsOf(target: string): string[] {
  const folders: string[] = [];
  for (let folder = path.dirname(target); ; folder = path.dirname(folder)) {
    folders.unshift(folder);
    if (folder === path.dirname(folder)) return folders;
  }
}

// Applies the owner, group or other bits, as the kernel picks them for a
// user with one gid and no supplementary groups.
function permits(
  stats: Stats,
  access: Extract<SandboxCodeAccess, { kind: "other-user" }>,
  bits: number,
): boolean {
  if (access.uid !== undefined && stats.uid === access.uid)
    return ((stats.mode >> 6) & bits) === bits;
  if (access.gid !== undefined && stats.gid === access.gid)
    return ((stats.mode >> 3) & bits) === bits;
  return (stats.mode & bits) === bits;
}

function unreadable(folder: string, stats: Stats, missing: "x" | "rx"): UnreadableFolder {
  return { folder, mode: (stats.mode & 0o777).toString(8), missing };
}
