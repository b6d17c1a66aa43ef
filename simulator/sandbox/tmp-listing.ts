/**
 * Lists a sandbox's /tmp from the host, grouped by file-name pattern, so the
 * leak diagnostics can name what fills it ("page-*.png") without keeping
 * every name. The cost is bounded: a walk that the file count needs anyway,
 * a regular expression per name, and at most a fixed number of stat calls
 * per sample, because the probes run after every invocation.
 */
import { type Dirent, lstatSync, readdirSync, statSync } from "node:fs";
import type { TmpFileGroup } from "./backend.ts";

/** Groups kept per sample before new patterns fold into their directory's pattern. */
const MAX_GROUPS = 64;
/** Files whose size is read per group. The group's other files count at their mean size. */
const SIZED_FILES_PER_GROUP = 32;
/**
 * Files whose size is read per sample. At about 1.5 µs a stat call (20,000
 * files on this project's 2-vCPU VM), this caps the stat cost near 2 ms.
 */
const SIZED_FILES_PER_SAMPLE = 1_024;
/** Pattern of every file once even the directory groups reach twice MAX_GROUPS. */
const OVERFLOW_PATTERN = "/tmp/**";
/** Suffix that keeps deleted files apart from visible ones of the same pattern. */
const DELETED_KEY = " (deleted)";

/**
 * Replaces every token of letters and digits that contains a digit with `*`,
 * keeping a leading word: `page-12.png` gives `page-*.png`, `page12` gives
 * `page*`, and a random `x-7f3a9c.tmp` gives `x-*.tmp`.
 */
export function pathPattern(path: string): string {
  return path.replace(/[A-Za-z0-9]+/g, (token) => {
    if (!/\d/.test(token)) return token;
    const word = /^([A-Za-z]+)\d+$/.exec(token);
    return word ? `${word[1]}*` : "*";
  });
}

interface GroupTotals {
  example: string;
  files: number;
  sizedFiles: number;
  sizedBytes: number;
  deleted: boolean;
}

/** Collects /tmp files of one sample into pattern groups. */
export class TmpFileGrouping {
  #groups = new Map<string, GroupTotals>();
  #sizedFiles = 0;
  /** Regular files added through {@link addFile}, deleted ones not included. */
  files = 0;

  /**
   * Adds a visible file. `path` is its path inside the sandbox, `hostPath`
   * the path the host reads, `pattern` its path pattern and
   * `directoryPattern` the pattern of its folder.
   */
  addFile(path: string, hostPath: string, pattern: string, directoryPattern: string): void {
    this.files += 1;
    const group = this.#groupFor(pattern, directoryPattern, path, false);
    if (group.sizedFiles >= SIZED_FILES_PER_GROUP || this.#sizedFiles >= SIZED_FILES_PER_SAMPLE)
      return;

    this.#sizedFiles += 1;
    try {
      group.sizedBytes += lstatSync(hostPath).blocks * 512;
      group.sizedFiles += 1;
    } catch {
      // Removed since the folder was read: it still counts, at the group's mean size.
    }
  }

  /** Adds a deleted file that a descriptor still holds, with `bytes` allocated to it. */
  addDeletedFile(path: string, bytes: number): void {
    const pattern = pathPattern(path);
    const group = this.#groupFor(pattern, pattern.slice(0, pattern.lastIndexOf("/")), path, true);
    group.sizedFiles += 1;
    group.sizedBytes += bytes;
  }

  /** Returns the groups, largest first. */
  groups(): TmpFileGroup[] {
    const groups: TmpFileGroup[] = [];
    for (const [key, totals] of this.#groups) {
      const bytesEstimated = totals.sizedFiles < totals.files;
      const bytes = bytesEstimated
        ? totals.sizedFiles > 0
          ? Math.round((totals.sizedBytes / totals.sizedFiles) * totals.files)
          : 0
        : totals.sizedBytes;
      groups.push({
        pattern: totals.deleted ? key.slice(0, -DELETED_KEY.length) : key,
        example: totals.example,
        files: totals.files,
        bytes,
        bytesEstimated,
        deleted: totals.deleted,
      });
    }
    return groups.sort((a, b) => b.bytes - a.bytes || b.files - a.files);
  }

  #groupFor(
    pattern: string,
    directoryPattern: string,
    path: string,
    deleted: boolean,
  ): GroupTotals {
    let key = deleted ? pattern + DELETED_KEY : pattern;
    if (!this.#groups.has(key) && this.#groups.size >= MAX_GROUPS) {
      // Names without digits, such as random letters, would otherwise make one group each.
      key = this.#groups.size >= 2 * MAX_GROUPS ? OVERFLOW_PATTERN : `${directoryPattern}/*`;
      if (deleted) key += DELETED_KEY;
    }

    let group = this.#groups.get(key);
    if (!group) {
      group = { example: path, files: 0, sizedFiles: 0, sizedBytes: 0, deleted };
      this.#groups.set(key, group);
    }
    group.files += 1;
    return group;
  }
}

/**
 * Walks the /tmp file system that the host reaches at `hostDir` into
 * `grouping`. With `device`, folders of other file systems mounted inside
 * it (the code folder, when stored under the host's /tmp) are skipped.
 */
export function walkTmp(grouping: TmpFileGrouping, hostDir: string, device?: number): void {
  walkFolder(grouping, hostDir, "/tmp", "/tmp", device);
}

function walkFolder(
  grouping: TmpFileGrouping,
  hostDir: string,
  path: string,
  pattern: string,
  device: number | undefined,
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(hostDir, { withFileTypes: true });
  } catch {
    return;
  }

  for (const entry of entries) {
    const hostPath = `${hostDir}/${entry.name}`;
    const entryPattern = `${pattern}/${pathPattern(entry.name)}`;
    if (entry.isFile()) {
      grouping.addFile(`${path}/${entry.name}`, hostPath, entryPattern, pattern);
      continue;
    }
    if (!entry.isDirectory()) continue;

    try {
      if (device === undefined || statSync(hostPath).dev === device) {
        walkFolder(grouping, hostPath, `${path}/${entry.name}`, entryPattern, device);
      }
    } catch {
      // Removed meanwhile.
    }
  }
}
