import type { ChecksumAlgorithm } from "./checksums.ts";

/** Checksum coverage: the whole body, or a checksum of the part checksums. */
export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

/** Standard HTTP headers that S3 stores with an object and returns on GET and HEAD. */
export const STORED_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
] as const;

export type StoredHeader = (typeof STORED_HEADERS)[number];

/** Client-set properties of an object besides its bytes. */
export interface ObjectAttributes {
  contentType: string;
  /** `x-amz-meta-*` values, by lower-case name without the prefix. */
  userMetadata: Record<string, string>;
  headers: Partial<Record<StoredHeader, string>>;
}

/** A stored checksum with its algorithm and type. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64 digest; composite checksums end in `-<part count>`. */
  value: string;
  type: ChecksumType;
}

/** Everything S3 returns about an object, persisted in its sidecar file. */
export interface ObjectMetadata extends ObjectAttributes {
  key: string;
  size: number;
  /** Entity tag with its double quotes, as S3 sends it. */
  etag: string;
  /** ISO 8601 time of the write. */
  lastModified: string;
  /** Base64 MD5 of the body, for objects written in one request. */
  contentMd5?: string;
  checksum?: StoredChecksum;
  /** Part count and part sizes of an object assembled by a multipart upload. */
  partsCount?: number;
  partSizes?: number[];
  /** Name of the data file beside the sidecar. */
  dataFile: string;
}

/** A bucket and when it was created. */
export interface BucketInfo {
  name: string;
  creationDate: string;
}

/** One uploaded part of a multipart upload. */
export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: string;
  checksum?: string;
  dataFile: string;
}

/** A multipart upload in progress. */
export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  attributes: ObjectAttributes;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

/** A part as listed in a CompleteMultipartUpload request. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
  checksum?: string;
}
