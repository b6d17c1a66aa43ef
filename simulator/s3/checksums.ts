import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * The additional checksum algorithms S3 accepts in `x-amz-checksum-*`
 * headers and trailers. Each value on the wire is the base64 of the
 * big-endian digest.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
export const CHECKSUM_ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;

export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Incremental digest of one checksum algorithm. */
export interface Hasher {
  update(chunk: Buffer): void;
  digest(): Buffer;
}

/** Parses an algorithm name from a header, case-insensitively; undefined when unknown. */
export function parseChecksumAlgorithm(value: string | undefined): ChecksumAlgorithm | undefined {
  if (!value) return undefined;
  const upper = value.toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper)
    ? (upper as ChecksumAlgorithm)
    : undefined;
}

/** Header (and trailer) name that carries an algorithm's checksum. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** Creates an incremental hasher for an algorithm. */
export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case "CRC32":
      return crc32Hasher();
    case "CRC32C":
      return tableCrc32Hasher(CRC32C_TABLE);
    case "CRC64NVME":
      return crc64NvmeHasher();
    case "SHA1":
    case "SHA256": {
      const hash = createHash(algorithm === "SHA1" ? "sha1" : "sha256");
      return { update: (chunk) => hash.update(chunk), digest: () => hash.digest() };
    }
  }
}

/** Computes an algorithm's digest of one buffer. */
export function digestOf(algorithm: ChecksumAlgorithm, data: Buffer): Buffer {
  const hasher = createHasher(algorithm);
  hasher.update(data);
  return hasher.digest();
}

function crc32Hasher(): Hasher {
  let value = 0;
  return {
    update: (chunk) => {
      value = crc32(chunk, value);
    },
    digest: () => uint32Bytes(value),
  };
}

function uint32Bytes(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as used by S3's CRC32C.
const CRC32C_TABLE = buildCrc32Table(0x82f63b78);

function buildCrc32Table(reflectedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPolynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function tableCrc32Hasher(table: Uint32Array): Hasher {
  let crc = 0xffffffff;
  return {
    update: (chunk) => {
      for (let i = 0; i < chunk.length; i++) crc = table[(crc ^ chunk[i]) & 0xff] ^ (crc >>> 8);
    },
    digest: () => uint32Bytes(~crc),
  };
}

// CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, initial value and final
// XOR all ones. The 64-bit state is kept as two 32-bit halves for speed.
const CRC64_TABLE_HIGH = new Uint32Array(256);
const CRC64_TABLE_LOW = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let high = 0;
  let low = n;
  for (let k = 0; k < 8; k++) {
    const carry = low & 1;
    low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
    high = high >>> 1;
    if (carry) {
      high = (high ^ 0x9a6c9329) >>> 0;
      low = (low ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC64_TABLE_HIGH[n] = high;
  CRC64_TABLE_LOW[n] = low;
}

function crc64NvmeHasher(): Hasher {
  let high = 0xffffffff;
  let low = 0xffffffff;
  return {
    update: (chunk) => {
      for (let i = 0; i < chunk.length; i++) {
        const index = (low ^ chunk[i]) & 0xff;
        low = (((low >>> 8) | (high << 24)) ^ CRC64_TABLE_LOW[index]) >>> 0;
        high = ((high >>> 8) ^ CRC64_TABLE_HIGH[index]) >>> 0;
      }
    },
    digest: () => {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32BE(~high >>> 0, 0);
      bytes.writeUInt32BE(~low >>> 0, 4);
      return bytes;
    },
  };
}
