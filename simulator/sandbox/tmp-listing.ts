/**
 * Lists a sandbox's /tmp from the host, grouped by file-name pattern, so the
 * leak diagnostics can name what fills it ("page-*.png") without keeping
 * every name. The cost is bounded: a walk that the file count needs anyway,
 * a character scan per name, and at most a fixed number of stat calls
 * per sample, because the probes run after every invocation.
 */
import { type Dirent, lstatSync, readdirSync, type Stats, statSync } from "node:fs";
import type { TmpFileGroup } from "./backend.ts";

/** Groups kept per sample before new patterns fold into their directory's pattern. */
const MAX_GROUPS = 64;
/** Files whose size is read per group. The group's other files count at their mean size. */
const SIZED_FILES_PER_GROUP = 256;
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
 * Replaces what varies between files written by the same code with `*`, so
 * their names group into one pattern:
 *
 * - every token of letters and digits that contains a digit, keeping a
 *   leading word: `page-12.png` gives `page-*.png`, `page12` gives `page*`,
 *   and a random `x-7f3a9c.tmp` gives `x-*.tmp`
 * - a UUID as a whole, whatever its groups start with:
 *   `scratch-550e8400-e29b-41d4-a716-446655440000.bin` gives `scratch-*.bin`
 * - a hex hash of at least 8 characters as a whole, leading letters included:
 *   `cache-deadbeef01.json` gives `cache-*.json`
 * - a run of numbers joined by `-` or `_` into one `*`:
 *   `log-2026-12-05_0017.txt` gives `log-*.txt`
 */
export function pathPattern(path: string): string {
  // A character loop: this runs once per file in /tmp after every invocation,
  // and took a third of the time of a replace() with a callback (20,000 names, 2-vCPU VM).
  let pattern = "";
  let tokenStart = -1;
  let firstDigit = -1;
  let letterAfterDigit = false;
  let onlyHex = true;
  for (let index = 0; index <= path.length; index++) {
    const code = index < path.length ? path.charCodeAt(index) : 0;
    const isDigit = code >= 48 && code <= 57;
    const isLetter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    if (isDigit || isLetter) {
      if (tokenStart < 0) {
        const uuidEnd = uuidEndAt(path, index);
        if (uuidEnd > 0) {
          pattern = appendWildcard(pattern);
          index = uuidEnd - 1;
          continue;
        }
        tokenStart = index;
        onlyHex = true;
      }
      if (isDigit && firstDigit < 0) firstDigit = index;
      if (isLetter && firstDigit >= 0) letterAfterDigit = true;
      if (isLetter && !isHexLetter(code)) onlyHex = false;
      continue;
    }

    if (tokenStart >= 0) {
      const hexHash = onlyHex && firstDigit >= 0 && index - tokenStart >= MIN_HEX_HASH_LENGTH;
      if (firstDigit < 0) pattern += path.slice(tokenStart, index);
      else if (letterAfterDigit || hexHash) pattern = appendWildcard(pattern);
      else pattern = appendWildcard(pattern + path.slice(tokenStart, firstDigit));
      tokenStart = -1;
      firstDigit = -1;
      letterAfterDigit = false;
    }
    if (index < path.length) pattern += path[index];
  }
  return pattern;
}

/** Hex tokens this long or longer that contain a digit are hashes, not words with a number. */
const MIN_HEX_HASH_LENGTH = 8;
/** Group lengths of a UUID, such as `550e8400-e29b-41d4-a716-446655440000`. */
const UUID_GROUPS = [8, 4, 4, 4, 12];
const UUID_LENGTH = 36;

function isHexLetter(code: number): boolean {
  return (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

// Returns the index after a UUID that starts at `start`, or -1 when none does.
function uuidEndAt(path: string, start: number): number {
  if (path.length - start < UUID_LENGTH) return -1;
  let index = start;
  for (let group = 0; group < UUID_GROUPS.length; group++) {
    if (group > 0) {
      if (path[index] !== "-") return -1;
      index += 1;
    }
    for (let end = index + UUID_GROUPS[group]; index < end; index++) {
      const code = path.charCodeAt(index);
      if (!((code >= 48 && code <= 57) || isHexLetter(code))) return -1;
    }
  }
  return index < path.length && isAlphanumeric(path.charCodeAt(index)) ? -1 : index;
}

// Adds a `*`, or joins it to a `*` right before, across one `-` or `_`.
function appendWildcard(pattern: string): string {
  const last = pattern.charCodeAt(pattern.length - 1);
  const beforeLast = pattern.charCodeAt(pattern.length - 2);
  if ((last === 45 || last === 95) && beforeLast === 42) return pattern.slice(0, -1);
  if (last === 42) return pattern;
  return `${pattern}*`;
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

  /** Adds the visible file `name` of `folder`. */
  addFile(folder: TmpFolder, name: string): void {
    this.files += 1;
    const pattern = `${folder.pattern}/${pathPattern(name)}`;
    const group = this.#groupFor(pattern, folder.pattern, folder.path, name, false);
    if (group.sizedFiles >= SIZED_FILES_PER_GROUP || this.#sizedFiles >= SIZED_FILES_PER_SAMPLE)
      return;

    this.#sizedFiles += 1;
    try {
      group.sizedBytes += lstatSync(`${folder.hostPath}/${name}`).blocks * 512;
      group.sizedFiles += 1;
    } catch {
      // Removed since the folder was read: it still counts, at the group's mean size.
    }
  }

  /** Adds a deleted file that a descriptor still holds, with `bytes` allocated to it. */
  addDeletedFile(path: string, bytes: number): void {
    const pattern = pathPattern(path);
    const slash = path.lastIndexOf("/");
    const folderPattern = pattern.slice(0, pattern.lastIndexOf("/"));
    const group = this.#groupFor(
      pattern,
      folderPattern,
      path.slice(0, slash),
      path.slice(slash + 1),
      true,
    );
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

  // The example path is built only for a new group, to keep string work per file low.
  #groupFor(
    pattern: string,
    folderPattern: string,
    folderPath: string,
    name: string,
    deleted: boolean,
  ): GroupTotals {
    let key = deleted ? pattern + DELETED_KEY : pattern;
    if (!this.#groups.has(key) && this.#groups.size >= MAX_GROUPS) {
      // Names without digits, such as random letters, would otherwise make one group each.
      key = this.#groups.size >= 2 * MAX_GROUPS ? OVERFLOW_PATTERN : `${folderPattern}/*`;
      if (deleted) key += DELETED_KEY;
    }

    let group = this.#groups.get(key);
    if (!group) {
      group = { example: `${folderPath}/${name}`, files: 0, sizedFiles: 0, sizedBytes: 0, deleted };
      this.#groups.set(key, group);
    }
    group.files += 1;
    return group;
  }
}

/** A folder of /tmp during a walk: its path inside the sandbox, on the host, and its pattern. */
interface TmpFolder {
  path: string;
  hostPath: string;
  pattern: string;
}

/**
 * Walks the /tmp file system that the host reaches at `hostDir` into
 * `grouping`. With `device`, folders of other file systems mounted inside
 * it (the code folder, when stored under the host's /tmp) are skipped.
 */
export function walkTmp(grouping: TmpFileGrouping, hostDir: string, device?: number): void {
  walkFolder(grouping, { path: "/tmp", hostPath: hostDir, pattern: "/tmp" }, device);
}

function walkFolder(
  grouping: TmpFileGrouping,
  folder: TmpFolder,
  device: number | undefined,
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder.hostPath, { withFileTypes: true });
  } catch {
    return;
  }

  for (const entry of entries) {
    if (entry.isFile()) {
      grouping.addFile(folder, entry.name);
      continue;
    }
    if (!entry.isDirectory()) continue;

    const hostPath = `${folder.hostPath}/${entry.name}`;
    try {
      const stats = statSync(hostPath);
      if (folder.path === "/tmp" && isImageLostAndFound(entry.name, stats)) continue;
      if (device === undefined || stats.dev === device) {
        const path = `${folder.path}/${entry.name}`;
        walkFolder(
          grouping,
          { path, hostPath, pattern: `${folder.pattern}/${pathPattern(entry.name)}` },
          device,
        );
      }
    } catch {
      // Removed meanwhile.
    }
  }
}

// mkfs.ext4 puts a lost+found folder, owned by root with mode 700, at the top
// of every image /tmp. A sandbox's user, never the host's root, cannot write
// there, so the walk skips it.
function isImageLostAndFound(name: string, stats: Stats): boolean {
  return name === "lost+found" && stats.uid === 0 && (stats.mode & 0o777) === 0o700;
}
