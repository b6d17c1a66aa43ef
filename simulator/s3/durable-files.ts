import { createHash, randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { type ChecksumAlgorithm, createHasher } from "./checksums.ts";
import { badDigest, incompleteBody, invalidDigest } from "./errors.ts";

/** Integrity data the client declared about a body, checked after the body is written. */
export interface BodyIntegrity {
  /** Base64 MD5 from the Content-MD5 header. */
  contentMd5?: string;
  /** Additional checksum algorithm to compute over the body. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /**
   * Returns the base64 checksum the client sent, read after the body ended
   * because a trailing checksum arrives after the last chunk.
   */
  expectedChecksum?: () => string | undefined;
  /** Byte count the client declared (Content-Length or x-amz-decoded-content-length). */
  expectedSize?: number;
}

/** A body written and fsynced to a temporary file, with its digests. */
export interface WrittenBody {
  tempPath: string;
  size: number;
  md5: Buffer;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

// Bytes buffered per upload before they are written to disk.
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Returns a fresh file name for a temporary file. */
export function uniqueName(suffix = ""): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}${suffix}`;
}

/**
 * Streams a body into a new temporary file under `tmpDir`, hashing it on the
 * way, fsyncs it and checks the declared size and digests. On any failure
 * (an aborted request, a digest mismatch) the temporary file is removed and
 * the error is thrown, so nothing half-written can ever be renamed into place.
 */
export async function writeBodyToTemp(
  tmpDir: string,
  body: AsyncIterable<Buffer> | Readable,
  integrity: BodyIntegrity,
): Promise<WrittenBody> {
  const tempPath = join(tmpDir, uniqueName(".part"));
  const md5 = createHash("md5");
  const hasher = integrity.checksumAlgorithm
    ? createHasher(integrity.checksumAlgorithm)
    : undefined;
  let size = 0;

  const handle = await open(tempPath, "wx");
  try {
    // Chunks are gathered into writes of about WRITE_BATCH_BYTES, which
    // costs far fewer system calls than one write per 64 KiB socket chunk.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      md5.update(chunk);
      hasher?.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BATCH_BYTES) {
        await handle.writev(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) await handle.writev(pending);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
    throw error;
  }
  await handle.close();

  const written: WrittenBody = { tempPath, size, md5: md5.digest() };
  if (hasher && integrity.checksumAlgorithm) {
    written.checksum = {
      algorithm: integrity.checksumAlgorithm,
      value: hasher.digest().toString("base64"),
    };
  }
  try {
    verifyIntegrity(written, integrity);
  } catch (error) {
    await unlink(tempPath).catch(() => {});
    throw error;
  }
  return written;
}

function verifyIntegrity(written: WrittenBody, integrity: BodyIntegrity): void {
  if (integrity.expectedSize !== undefined && written.size !== integrity.expectedSize) {
    throw incompleteBody(
      `You did not provide the number of bytes specified by the Content-Length HTTP header: expected ${integrity.expectedSize}, received ${written.size}.`,
    );
  }

  if (integrity.contentMd5 !== undefined) {
    const declared = Buffer.from(integrity.contentMd5, "base64");
    if (declared.length !== 16) throw invalidDigest("Content-MD5", integrity.contentMd5);
    if (!declared.equals(written.md5)) throw badDigest("Content-MD5");
  }

  const expected = integrity.expectedChecksum?.();
  if (expected !== undefined && written.checksum) {
    if (expected !== written.checksum.value) throw badDigest(written.checksum.algorithm);
  }
}

/** Flushes a directory entry change (a rename or unlink) to disk. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `finalPath` with `content` atomically: a crash leaves either the
 * old file or the new one, never a partial file.
 */
export async function writeFileAtomic(
  tmpDir: string,
  finalPath: string,
  content: string,
): Promise<void> {
  const tempPath = join(tmpDir, uniqueName(".json"));
  const handle = await open(tempPath, "wx");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, finalPath);
  await syncDirectory(dirname(finalPath));
}
