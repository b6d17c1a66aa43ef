import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { extractZip } from "./zip-archive.ts";

/** Code of a version as the registry stores it. */
export interface StoredCode {
  /** Folder that becomes /var/task. */
  codeDir: string;
  /** Base64 SHA-256, as Lambda reports CodeSha256. */
  codeSha256: string;
  codeSize: number;
  /** Set for hot-reload code: the folder is the user's own and is watched. */
  hotReloadDir?: string;
}

/** Base64 SHA-256 of the uploaded archive, Lambda's CodeSha256. */
export function sha256Base64(data: Buffer): string {
  return createHash("sha256").update(data).digest("base64");
}

/**
 * Unpacks a zip archive into `<root>/<hex sha>/` once, so versions that share
 * code share the folder. The folder is written under a temporary name and
 * renamed, so a crash never leaves a half-unpacked folder in place.
 */
export async function storeZip(root: string, archive: Buffer): Promise<StoredCode> {
  const codeSha256 = sha256Base64(archive);
  const hex = Buffer.from(codeSha256, "base64").toString("hex");
  const codeDir = path.join(root, hex);
  await writePackageBoundary(root);

  if (!existsSync(codeDir)) {
    const staging = `${codeDir}.partial-${process.pid}-${Date.now()}`;
    try {
      await extractZip(archive, staging);
      await rename(staging, codeDir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(codeDir)) throw error;
    }
  }
  return { codeDir, codeSha256, codeSize: archive.length };
}

/**
 * Writes an empty package.json (`{}`) into `folder` unless one is there.
 * Unpacked code sits in a subfolder of it, so Node.js's search for the
 * nearest package.json stops here instead of reaching a project's
 * package.json with `"type": "module"` above the data directory. On Lambda
 * the code sits in /var/task with no package.json above it, so a CommonJS
 * `index.js` without a package.json of its own loads as CommonJS.
 */
export async function writePackageBoundary(folder: string): Promise<void> {
  const file = path.join(folder, "package.json");
  if (existsSync(file)) return;
  await mkdir(folder, { recursive: true });
  // `{}` sets no "type", so Node.js treats `.js` files as it does with no
  // package.json at all.
  await writeFile(file, "{}\n", { flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
}

// node_modules and .git rarely change while iterating and can hold many files.
const SKIPPED_FOLDERS = new Set(["node_modules", ".git"]);

/**
 * Fingerprints a local code folder by the paths, sizes and modification times
 * of its files, so a change of any file gives a new CodeSha256.
 */
export async function fingerprintDirectory(
  directory: string,
): Promise<{ codeSha256: string; codeSize: number }> {
  const hash = createHash("sha256");
  let codeSize = 0;

  async function walk(folder: string): Promise<void> {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) await walk(full);
        continue;
      }
      const info = await stat(full).catch(() => undefined);
      if (!info) continue;
      codeSize += info.size;
      hash.update(`${path.relative(directory, full)}\0${info.size}\0${info.mtimeMs}\n`);
    }
  }

  await walk(directory);
  return { codeSha256: hash.digest("base64"), codeSize };
}
