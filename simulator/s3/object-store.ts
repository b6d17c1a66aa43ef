import { type FileHandle, mkdir, open, readdir, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ChecksumAlgorithm } from "./checksums.ts";
import {
  type BodyIntegrity,
  syncDirectory,
  uniqueName,
  writeBodyToTemp,
  writeFileAtomic,
} from "./durable-files.ts";
import {
  bucketAlreadyOwnedByYou,
  bucketNotEmpty,
  invalidArgument,
  invalidRequest,
  noSuchBucket,
  noSuchKey,
  preconditionFailed,
} from "./errors.ts";
import { KeyIndex, type ListOptions, type ListPage } from "./key-index.ts";
import { MultipartUploads } from "./multipart-uploads.ts";
import { assertValidBucketName, assertValidKey, bucketNameProblem } from "./names.ts";
import { hashKey, loadObjects, readJson } from "./object-files.ts";
import type {
  BucketInfo,
  ChecksumType,
  CompletedPart,
  MultipartUpload,
  ObjectAttributes,
  ObjectMetadata,
  PartRecord,
} from "./object-types.ts";
import { etagMatches } from "./read-conditions.ts";

export type * from "./object-types.ts";

/** Conditions of a conditional write (If-Match, If-None-Match: * on PutObject). */
export interface WriteCondition {
  ifMatch?: string;
  ifNoneMatch?: string;
}

interface Bucket {
  info: BucketInfo;
  objects: KeyIndex<ObjectMetadata>;
}

/** An object opened for reading: its metadata and an open handle on its bytes. */
export interface OpenedObject {
  metadata: ObjectMetadata;
  /** The caller closes it, or lets a read stream created from it close it. */
  handle: FileHandle;
}

/**
 * A disk-backed S3 object store under one root directory.
 *
 * Layout: `buckets/<bucket>/bucket.json`, objects under
 * `buckets/<bucket>/objects/<2 hex>/<sha256 of key>.json` (the sidecar with
 * the key and its metadata) and `<sha256>.<unique>.data` (the bytes), and
 * scratch files in `tmp/`. Keys are never used in paths, so any key S3
 * allows (`../`, `//`, unicode, 1024 bytes) is stored safely inside the root.
 *
 * A write streams into `tmp/`, fsyncs, renames the data file into place,
 * then atomically replaces the sidecar: the sidecar rename is the commit
 * point, so a crash at any moment leaves the old object or the new one.
 * Data files that no sidecar names are removed by open().
 */
export class ObjectStore {
  readonly root: string;
  readonly #tmpDir: string;
  readonly #bucketsDir: string;
  readonly #buckets = new Map<string, Bucket>();
  readonly #keyLocks = new Map<string, Promise<unknown>>();
  readonly #uploads: MultipartUploads;

  constructor(options: { root: string }) {
    this.root = options.root;
    this.#tmpDir = join(this.root, "tmp");
    this.#bucketsDir = join(this.root, "buckets");
    this.#uploads = new MultipartUploads({
      tmpDir: this.#tmpDir,
      uploadsDir: (bucket) => join(this.#bucketsDir, bucket, "uploads"),
      commit: (bucket, key, tempPath, metadata) => this.#commit(bucket, key, tempPath, metadata),
    });
  }

  /** Creates the directories, clears scratch files and loads every bucket, object and upload. */
  async open(): Promise<void> {
    await mkdir(this.#bucketsDir, { recursive: true });
    await rm(this.#tmpDir, { recursive: true, force: true });
    await mkdir(this.#tmpDir, { recursive: true });

    this.#buckets.clear();
    for (const name of await readdir(this.#bucketsDir)) {
      if (bucketNameProblem(name)) continue;
      const bucketDir = join(this.#bucketsDir, name);
      const info = await readJson<BucketInfo>(join(bucketDir, "bucket.json"));
      if (!info) continue;
      const objects = new KeyIndex<ObjectMetadata>();
      objects.load(await loadObjects(join(bucketDir, "objects")));
      this.#buckets.set(name, { info, objects });
      await this.#uploads.load(name);
    }
  }

  listBuckets(): BucketInfo[] {
    return [...this.#buckets.values()]
      .map((bucket) => bucket.info)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Throws NoSuchBucket unless the bucket exists. */
  requireBucket(name: string): BucketInfo {
    return this.#bucket(name).info;
  }

  async createBucket(name: string): Promise<BucketInfo> {
    assertValidBucketName(name);
    if (this.#buckets.has(name)) throw bucketAlreadyOwnedByYou(name);

    const info: BucketInfo = { name, creationDate: new Date().toISOString() };
    this.#buckets.set(name, { info, objects: new KeyIndex() });
    try {
      // Build the bucket in scratch space, then rename it into place in one step.
      const staging = join(this.#tmpDir, uniqueName(".bucket"));
      await mkdir(join(staging, "objects"), { recursive: true });
      await writeFileAtomic(this.#tmpDir, join(staging, "bucket.json"), JSON.stringify(info));
      await rename(staging, join(this.#bucketsDir, name));
      await syncDirectory(this.#bucketsDir);
    } catch (error) {
      this.#buckets.delete(name);
      throw error;
    }
    return info;
  }

  /** Deletes an empty bucket, aborting its multipart uploads. */
  async deleteBucket(name: string): Promise<void> {
    const bucket = this.#bucket(name);
    if (bucket.objects.size > 0) throw bucketNotEmpty(name);

    this.#buckets.delete(name);
    this.#uploads.forgetBucket(name);
    const doomed = join(this.#tmpDir, uniqueName(".deleted"));
    await rename(join(this.#bucketsDir, name), doomed);
    await syncDirectory(this.#bucketsDir);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Returns an object's metadata, or throws NoSuchBucket or NoSuchKey. */
  headObject(bucket: string, key: string): ObjectMetadata {
    const metadata = this.#bucket(bucket).objects.get(key);
    if (!metadata) throw noSuchKey(key);
    return metadata;
  }

  /**
   * Opens an object for reading. A concurrent overwrite may delete the data
   * file between the index lookup and the open, so the lookup is retried.
   */
  async openObject(bucket: string, key: string): Promise<OpenedObject> {
    for (let attempt = 0; ; attempt++) {
      const metadata = this.headObject(bucket, key);
      try {
        const handle = await open(join(this.#objectDir(bucket, key), metadata.dataFile), "r");
        return { metadata, handle };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 10) throw error;
      }
    }
  }

  /** Streams a body into a new object, replacing any object with that key. */
  async putObject(
    bucket: string,
    key: string,
    body: Readable | AsyncIterable<Buffer>,
    options: {
      attributes: ObjectAttributes;
      integrity?: BodyIntegrity;
      condition?: WriteCondition;
    },
  ): Promise<ObjectMetadata> {
    this.#bucket(bucket);
    assertValidKey(key);
    if (options.condition) this.#checkWriteCondition(bucket, key, options.condition);

    const written = await writeBodyToTemp(this.#tmpDir, body, options.integrity ?? {});
    const metadata: Omit<ObjectMetadata, "dataFile"> = {
      ...options.attributes,
      key,
      size: written.size,
      etag: `"${written.md5.toString("hex")}"`,
      lastModified: new Date().toISOString(),
      contentMd5: written.md5.toString("base64"),
      checksum: written.checksum && { ...written.checksum, type: "FULL_OBJECT" },
    };
    return this.#commit(bucket, key, written.tempPath, metadata, options.condition);
  }

  /**
   * Copies an object. Without new attributes the source's content type and
   * metadata are kept (metadata directive COPY).
   */
  async copyObject(
    source: { bucket: string; key: string },
    target: { bucket: string; key: string },
    attributes?: ObjectAttributes,
  ): Promise<ObjectMetadata> {
    this.#bucket(target.bucket);
    assertValidKey(target.key);
    const { metadata: sourceMetadata, handle } = await this.openObject(source.bucket, source.key);
    if (source.bucket === target.bucket && source.key === target.key && !attributes) {
      await handle.close();
      throw invalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }

    const algorithm = sourceMetadata.checksum?.algorithm;
    const written = await writeBodyToTemp(this.#tmpDir, handle.createReadStream(), {
      checksumAlgorithm: algorithm,
    });
    const sourceAttributes: ObjectAttributes = {
      contentType: sourceMetadata.contentType,
      userMetadata: sourceMetadata.userMetadata,
      headers: sourceMetadata.headers,
    };
    const metadata: Omit<ObjectMetadata, "dataFile"> = {
      ...(attributes ?? sourceAttributes),
      key: target.key,
      size: written.size,
      etag: `"${written.md5.toString("hex")}"`,
      lastModified: new Date().toISOString(),
      contentMd5: written.md5.toString("base64"),
      checksum: written.checksum && { ...written.checksum, type: "FULL_OBJECT" },
    };
    return this.#commit(target.bucket, target.key, written.tempPath, metadata);
  }

  /** Deletes an object; deleting a missing key succeeds, as on S3. Returns whether it existed. */
  async deleteObject(bucket: string, key: string): Promise<boolean> {
    const { objects } = this.#bucket(bucket);
    return this.#withKeyLock(bucket, key, async () => {
      const existing = objects.get(key);
      if (!existing) return false;
      const directory = this.#objectDir(bucket, key);
      await unlink(join(directory, `${hashKey(key)}.json`));
      await syncDirectory(directory);
      objects.delete(key);
      await unlink(join(directory, existing.dataFile)).catch(() => {});
      return true;
    });
  }

  listObjects(bucket: string, options: ListOptions): ListPage<ObjectMetadata> {
    return this.#bucket(bucket).objects.list(options);
  }

  async createMultipartUpload(
    bucket: string,
    key: string,
    attributes: ObjectAttributes,
    checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType },
  ): Promise<MultipartUpload> {
    this.#bucket(bucket);
    assertValidKey(key);
    return this.#uploads.create(bucket, key, attributes, checksum);
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | AsyncIterable<Buffer>,
    integrity: BodyIntegrity,
  ): Promise<PartRecord> {
    this.#bucket(bucket);
    return this.#uploads.uploadPart(bucket, key, uploadId, partNumber, body, integrity);
  }

  /**
   * Copies a source object, or an inclusive byte range of it, into a part.
   * A range past the end of the source is InvalidArgument, as on S3.
   */
  async uploadPartCopy(
    source: { bucket: string; key: string },
    target: { bucket: string; key: string },
    uploadId: string,
    partNumber: number,
    range?: { start: number; end: number },
  ): Promise<PartRecord> {
    this.#bucket(target.bucket);
    this.#uploads.get(target.bucket, target.key, uploadId);
    const { metadata, handle } = await this.openObject(source.bucket, source.key);
    if (range && range.end >= metadata.size) {
      await handle.close();
      throw invalidArgument(
        `Range specified is not valid for source object of size: ${metadata.size}`,
        "x-amz-copy-source-range",
        `bytes=${range.start}-${range.end}`,
      );
    }

    const start = range?.start ?? 0;
    const end = range?.end ?? metadata.size - 1;
    let body: Readable;
    if (end < start) {
      await handle.close();
      body = Readable.from([]);
    } else {
      body = handle.createReadStream({ start, end });
    }
    return this.#uploads.uploadPart(target.bucket, target.key, uploadId, partNumber, body, {});
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    expectedChecksum?: string,
  ): Promise<ObjectMetadata> {
    this.#bucket(bucket);
    return this.#uploads.complete(bucket, key, uploadId, parts, expectedChecksum);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.#bucket(bucket);
    await this.#uploads.abort(bucket, key, uploadId);
  }

  getMultipartUpload(bucket: string, key: string, uploadId: string): MultipartUpload {
    this.#bucket(bucket);
    return this.#uploads.get(bucket, key, uploadId);
  }

  listParts(bucket: string, key: string, uploadId: string): PartRecord[] {
    this.#bucket(bucket);
    return this.#uploads.listParts(bucket, key, uploadId);
  }

  listMultipartUploads(bucket: string): MultipartUpload[] {
    this.#bucket(bucket);
    return this.#uploads.list(bucket);
  }

  #bucket(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  #objectDir(bucket: string, key: string): string {
    return join(this.#bucketsDir, bucket, "objects", hashKey(key).slice(0, 2));
  }

  #checkWriteCondition(bucket: string, key: string, condition: WriteCondition): void {
    const existing = this.#bucket(bucket).objects.get(key);
    if (condition.ifNoneMatch === "*" && existing) throw preconditionFailed("If-None-Match");
    if (condition.ifMatch !== undefined) {
      if (!existing) throw noSuchKey(key);
      if (!etagMatches(condition.ifMatch, existing.etag)) throw preconditionFailed("If-Match");
    }
  }

  /**
   * Moves a finished temporary data file into place and atomically replaces
   * the sidecar, then drops the previous data file. Writes to one key are
   * serialized so the index, the sidecar and the data files stay in step.
   */
  async #commit(
    bucket: string,
    key: string,
    tempPath: string,
    metadata: Omit<ObjectMetadata, "dataFile">,
    condition?: WriteCondition,
  ): Promise<ObjectMetadata> {
    return this.#withKeyLock(bucket, key, async () => {
      try {
        const { objects } = this.#bucket(bucket);
        // Checked again under the lock: another write may have committed meanwhile.
        if (condition) this.#checkWriteCondition(bucket, key, condition);

        const directory = this.#objectDir(bucket, key);
        const hash = hashKey(key);
        const committed: ObjectMetadata = {
          ...metadata,
          dataFile: `${hash}.${uniqueName(".data")}`,
        };
        await mkdir(directory, { recursive: true });
        await rename(tempPath, join(directory, committed.dataFile));
        await writeFileAtomic(
          this.#tmpDir,
          join(directory, `${hash}.json`),
          JSON.stringify(committed),
        );

        const previous = objects.get(key);
        objects.set(key, committed);
        if (previous) await unlink(join(directory, previous.dataFile)).catch(() => {});
        return committed;
      } catch (error) {
        await unlink(tempPath).catch(() => {});
        throw error;
      }
    });
  }

  async #withKeyLock<T>(bucket: string, key: string, action: () => Promise<T>): Promise<T> {
    const lockKey = `${bucket}/${key}`;
    const previous = this.#keyLocks.get(lockKey) ?? Promise.resolve();
    const current = previous.then(action, action);
    const settled = current.catch(() => {});
    this.#keyLocks.set(lockKey, settled);
    try {
      return await current;
    } finally {
      if (this.#keyLocks.get(lockKey) === settled) this.#keyLocks.delete(lockKey);
    }
  }
}
