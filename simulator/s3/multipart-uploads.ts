import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { type ChecksumAlgorithm, digestOf } from "./checksums.ts";
import {
  type BodyIntegrity,
  syncDirectory,
  uniqueName,
  writeBodyToTemp,
  writeFileAtomic,
} from "./durable-files.ts";
import {
  badDigest,
  entityTooSmall,
  invalidArgument,
  invalidPart,
  invalidPartOrder,
  malformedXml,
  noSuchUpload,
} from "./errors.ts";
import type {
  ChecksumType,
  CompletedPart,
  MultipartUpload,
  ObjectAttributes,
  ObjectMetadata,
  PartRecord,
} from "./object-types.ts";

/**
 * Multipart limits: part numbers 1 to 10,000 and at least 5 MiB for every
 * part but the last.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
export const MAX_PART_NUMBER = 10_000;
export const MIN_PART_SIZE = 5 * 1024 * 1024;

const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

interface UploadState {
  upload: MultipartUpload;
  parts: Map<number, PartRecord>;
  directory: string;
  /** Set once CompleteMultipartUpload or AbortMultipartUpload has started. */
  closing: boolean;
}

/** Commits a finished data file as an object; provided by the ObjectStore. */
export type CommitObject = (
  bucket: string,
  key: string,
  tempPath: string,
  metadata: Omit<ObjectMetadata, "dataFile">,
) => Promise<ObjectMetadata>;

/**
 * Multipart uploads in progress, each in `buckets/<bucket>/uploads/<uploadId>/`
 * with `upload.json`, and per part a `part-<n>.json` record beside its data
 * file. Parts are written like objects: streamed to scratch space, fsynced,
 * renamed into place, then recorded atomically.
 */
export class MultipartUploads {
  readonly #tmpDir: string;
  readonly #uploadsDir: (bucket: string) => string;
  readonly #commit: CommitObject;
  readonly #uploads = new Map<string, UploadState>();

  constructor(options: {
    tmpDir: string;
    uploadsDir: (bucket: string) => string;
    commit: CommitObject;
  }) {
    this.#tmpDir = options.tmpDir;
    this.#uploadsDir = options.uploadsDir;
    this.#commit = options.commit;
  }

  /** Loads the uploads of one bucket from disk, dropping part data files no record names. */
  async load(bucket: string): Promise<void> {
    const uploadsDir = this.#uploadsDir(bucket);
    let names: string[];
    try {
      names = await readdir(uploadsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }

    for (const uploadId of names) {
      if (!UPLOAD_ID_PATTERN.test(uploadId)) continue;
      const directory = join(uploadsDir, uploadId);
      const files = await readdir(directory);
      if (!files.includes("upload.json")) continue;
      const upload = JSON.parse(
        await readFile(join(directory, "upload.json"), "utf8"),
      ) as MultipartUpload;
      const parts = new Map<number, PartRecord>();
      for (const file of files.filter((name) => /^part-\d+\.json$/.test(name))) {
        const part = JSON.parse(await readFile(join(directory, file), "utf8")) as PartRecord;
        parts.set(part.partNumber, part);
      }
      const referenced = new Set([...parts.values()].map((part) => part.dataFile));
      for (const file of files.filter((name) => name.endsWith(".data") && !referenced.has(name))) {
        await unlink(join(directory, file)).catch(() => {});
      }
      this.#uploads.set(uploadId, { upload, parts, directory, closing: false });
    }
  }

  /** Forgets the uploads of a deleted bucket; their files went with the bucket's directory. */
  forgetBucket(bucket: string): void {
    for (const [uploadId, state] of this.#uploads) {
      if (state.upload.bucket === bucket) this.#uploads.delete(uploadId);
    }
  }

  async create(
    bucket: string,
    key: string,
    attributes: ObjectAttributes,
    checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType },
  ): Promise<MultipartUpload> {
    const upload: MultipartUpload = {
      uploadId: randomBytes(24).toString("base64url"),
      bucket,
      key,
      initiated: new Date().toISOString(),
      attributes,
      checksumAlgorithm: checksum?.algorithm,
      checksumType: checksum?.type,
    };
    const directory = join(this.#uploadsDir(bucket), upload.uploadId);
    await mkdir(directory, { recursive: true });
    await writeFileAtomic(this.#tmpDir, join(directory, "upload.json"), JSON.stringify(upload));
    this.#uploads.set(upload.uploadId, { upload, parts: new Map(), directory, closing: false });
    return upload;
  }

  get(bucket: string, key: string, uploadId: string): MultipartUpload {
    return this.#state(bucket, key, uploadId).upload;
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | AsyncIterable<Buffer>,
    integrity: BodyIntegrity,
  ): Promise<PartRecord> {
    const state = this.#state(bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw invalidArgument(
        `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
        "partNumber",
        String(partNumber),
      );
    }

    const written = await writeBodyToTemp(this.#tmpDir, body, {
      ...integrity,
      checksumAlgorithm: integrity.checksumAlgorithm ?? state.upload.checksumAlgorithm,
    });
    if (state.closing || this.#uploads.get(uploadId) !== state) {
      await unlink(written.tempPath).catch(() => {});
      throw noSuchUpload(uploadId);
    }

    const part: PartRecord = {
      partNumber,
      etag: `"${written.md5.toString("hex")}"`,
      size: written.size,
      lastModified: new Date().toISOString(),
      checksum: written.checksum?.value,
      dataFile: `part-${partNumber}.${uniqueName(".data")}`,
    };
    await rename(written.tempPath, join(state.directory, part.dataFile));
    await writeFileAtomic(
      this.#tmpDir,
      join(state.directory, `part-${partNumber}.json`),
      JSON.stringify(part),
    );
    const previous = state.parts.get(partNumber);
    state.parts.set(partNumber, part);
    if (previous) await unlink(join(state.directory, previous.dataFile)).catch(() => {});
    return part;
  }

  /**
   * Assembles the listed parts into the object. Parts must be in ascending
   * order, exist with the given ETags, and all but the last be at least
   * 5 MiB. The ETag is the MD5 of the concatenated binary part MD5s,
   * followed by `-<part count>`. An `expectedChecksum` from the client must
   * equal the object's checksum, or the request fails with BadDigest.
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
   */
  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    requested: CompletedPart[],
    expectedChecksum?: string,
  ): Promise<ObjectMetadata> {
    const state = this.#state(bucket, key, uploadId);
    const parts = this.#validateCompletion(state, requested);

    state.closing = true;
    try {
      const { upload } = state;
      const fullObjectAlgorithm =
        upload.checksumType === "FULL_OBJECT" ? upload.checksumAlgorithm : undefined;
      const written = await writeBodyToTemp(this.#tmpDir, readParts(state.directory, parts), {
        checksumAlgorithm: fullObjectAlgorithm,
      });

      const partMd5s = Buffer.concat(
        parts.map((part) => Buffer.from(part.etag.replace(/"/g, ""), "hex")),
      );
      const etag = `"${createHash("md5").update(partMd5s).digest("hex")}-${parts.length}"`;
      const metadata: Omit<ObjectMetadata, "dataFile"> = {
        ...upload.attributes,
        key,
        size: written.size,
        etag,
        lastModified: new Date().toISOString(),
        partsCount: parts.length,
        partSizes: parts.map((part) => part.size),
        checksum: compositeOrFullChecksum(upload, parts, written.checksum?.value),
      };
      if (
        expectedChecksum !== undefined &&
        metadata.checksum &&
        expectedChecksum !== metadata.checksum.value
      ) {
        await unlink(written.tempPath).catch(() => {});
        throw badDigest(metadata.checksum.algorithm);
      }
      const committed = await this.#commit(bucket, key, written.tempPath, metadata);
      await this.#remove(state);
      return committed;
    } catch (error) {
      state.closing = false;
      throw error;
    }
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    const state = this.#state(bucket, key, uploadId);
    state.closing = true;
    await this.#remove(state);
  }

  listParts(bucket: string, key: string, uploadId: string): PartRecord[] {
    const state = this.#state(bucket, key, uploadId);
    return [...state.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Lists a bucket's uploads by key, then by initiation time. */
  list(bucket: string): MultipartUpload[] {
    return [...this.#uploads.values()]
      .filter((state) => state.upload.bucket === bucket && !state.closing)
      .map((state) => state.upload)
      .sort(
        (a, b) =>
          Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) ||
          a.initiated.localeCompare(b.initiated),
      );
  }

  #state(bucket: string, key: string, uploadId: string): UploadState {
    const state = this.#uploads.get(uploadId);
    if (!state || state.closing || state.upload.bucket !== bucket || state.upload.key !== key) {
      throw noSuchUpload(uploadId);
    }
    return state;
  }

  #validateCompletion(state: UploadState, requested: CompletedPart[]): PartRecord[] {
    if (requested.length === 0) throw malformedXml("CompleteMultipartUpload lists no parts.");
    for (let index = 1; index < requested.length; index++) {
      if (requested[index].partNumber <= requested[index - 1].partNumber) throw invalidPartOrder();
    }

    const parts = requested.map((requestedPart) => {
      const part = state.parts.get(requestedPart.partNumber);
      if (!part) throw invalidPart(requestedPart.partNumber, "the part was not uploaded");
      if (requestedPart.etag.replace(/"/g, "") !== part.etag.replace(/"/g, "")) {
        throw invalidPart(
          requestedPart.partNumber,
          `the ETag ${requestedPart.etag} does not match ${part.etag}`,
        );
      }
      if (
        requestedPart.checksum !== undefined &&
        part.checksum !== undefined &&
        requestedPart.checksum !== part.checksum
      ) {
        throw invalidPart(
          requestedPart.partNumber,
          "the checksum does not match the uploaded part's checksum",
        );
      }
      return part;
    });

    parts.slice(0, -1).forEach((part) => {
      if (part.size < MIN_PART_SIZE)
        throw entityTooSmall(part.partNumber, part.size, MIN_PART_SIZE);
    });
    return parts;
  }

  async #remove(state: UploadState): Promise<void> {
    this.#uploads.delete(state.upload.uploadId);
    const doomed = join(this.#tmpDir, uniqueName(".upload"));
    await rename(state.directory, doomed);
    await syncDirectory(this.#uploadsDir(state.upload.bucket));
    await rm(doomed, { recursive: true, force: true });
  }
}

async function* readParts(directory: string, parts: PartRecord[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    for await (const chunk of createReadStream(join(directory, part.dataFile)))
      yield chunk as Buffer;
  }
}

/**
 * Returns the object's checksum: the full-object value computed while
 * assembling, or for COMPOSITE the checksum of the concatenated binary part
 * checksums followed by `-<part count>`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
function compositeOrFullChecksum(
  upload: MultipartUpload,
  parts: PartRecord[],
  fullObjectValue: string | undefined,
): ObjectMetadata["checksum"] {
  const algorithm = upload.checksumAlgorithm;
  if (!algorithm) return undefined;
  if (upload.checksumType === "FULL_OBJECT") {
    return fullObjectValue ? { algorithm, value: fullObjectValue, type: "FULL_OBJECT" } : undefined;
  }
  if (parts.some((part) => part.checksum === undefined)) return undefined;
  const joined = Buffer.concat(parts.map((part) => Buffer.from(part.checksum as string, "base64")));
  const value = `${digestOf(algorithm, joined).toString("base64")}-${parts.length}`;
  return { algorithm, value, type: "COMPOSITE" };
}
