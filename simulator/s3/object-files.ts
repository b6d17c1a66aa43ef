import { createHash } from "node:crypto";
import { readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectMetadata } from "./object-types.ts";

// How many files loadObjects() reads at once.
const LOAD_CONCURRENCY = 64;

/** Returns the SHA-256 hex of a key, which names its files, so no key ever becomes a path. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Reads a JSON file, returning undefined when it does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Reads every sidecar under an objects directory and removes data files no sidecar names. */
export async function loadObjects(objectsDir: string): Promise<[string, ObjectMetadata][]> {
  const loaded: [string, ObjectMetadata][] = [];
  let shards: string[];
  try {
    shards = await readdir(objectsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return loaded;
    throw error;
  }

  for (const shard of shards) {
    const directory = join(objectsDir, shard);
    const files = await readdir(directory);
    const sidecars = files.filter((file) => file.endsWith(".json"));
    const referenced = new Set<string>();
    for (let start = 0; start < sidecars.length; start += LOAD_CONCURRENCY) {
      const batch = sidecars.slice(start, start + LOAD_CONCURRENCY);
      const records = await Promise.all(
        batch.map((file) => readJson<ObjectMetadata>(join(directory, file))),
      );
      for (const record of records) {
        if (!record) continue;
        referenced.add(record.dataFile);
        loaded.push([record.key, record]);
      }
    }
    const orphans = files.filter((file) => file.endsWith(".data") && !referenced.has(file));
    await Promise.all(orphans.map((file) => unlink(join(directory, file)).catch(() => {})));
  }
  return loaded;
}
