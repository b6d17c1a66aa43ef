import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { InvalidParameterValueException } from "../errors.ts";

/** One file of a zip archive, already decompressed. */
export interface ZipEntry {
  /** Path inside the archive, with `/` separators. */
  name: string;
  data: Buffer;
  /** Unix permission bits from the archive, when it recorded them. */
  mode?: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

/**
 * Lambda's quota for a deployment package: 250 MB unzipped, code and layers
 * together. It also bounds what a corrupt or malicious archive can write.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const MAX_UNZIPPED_BYTES = 262_144_000;

function invalid(reason: string): InvalidParameterValueException {
  return new InvalidParameterValueException(
    `Could not unzip uploaded file: ${reason}. Upload a zip archive whose entries are stored or deflated.`,
  );
}

function tooLarge(): InvalidParameterValueException {
  return new InvalidParameterValueException(
    `Unzipped size must be smaller than ${MAX_UNZIPPED_BYTES} bytes. Remove files from the archive or move dependencies into a layer.`,
  );
}

/**
 * Reads every file entry of a zip archive (stored or deflated entries, no
 * zip64 and no encryption), using the central directory as unzip does.
 * Throws InvalidParameterValueException, as Lambda does for a bad archive.
 */
export function readZip(archive: Buffer): ZipEntry[] {
  // The end-of-central-directory record sits in the last 22 + 65,535 bytes.
  let eocd = -1;
  for (
    let offset = archive.length - 22;
    offset >= Math.max(0, archive.length - 22 - 65_535);
    offset--
  ) {
    if (archive.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) {
      eocd = offset;
      break;
    }
  }
  if (eocd < 0) throw invalid("no end of central directory record found");

  const entryCount = archive.readUInt16LE(eocd + 10);
  let cursor = archive.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  let unzippedBytes = 0;

  for (let index = 0; index < entryCount; index++) {
    if (cursor + 46 > archive.length || archive.readUInt32LE(cursor) !== CENTRAL_FILE_HEADER) {
      throw invalid(`central directory entry ${index} is corrupt`);
    }
    const flags = archive.readUInt16LE(cursor + 8);
    const method = archive.readUInt16LE(cursor + 10);
    const compressedSize = archive.readUInt32LE(cursor + 20);
    const declaredSize = archive.readUInt32LE(cursor + 24);
    const nameLength = archive.readUInt16LE(cursor + 28);
    const extraLength = archive.readUInt16LE(cursor + 30);
    const commentLength = archive.readUInt16LE(cursor + 32);
    const externalAttributes = archive.readUInt32LE(cursor + 38);
    const localOffset = archive.readUInt32LE(cursor + 42);
    const name = archive.toString("utf8", cursor + 46, cursor + 46 + nameLength);
    cursor += 46 + nameLength + extraLength + commentLength;

    if (name.endsWith("/")) continue;
    if (flags & 0x1) throw invalid(`entry ${name} is encrypted`);
    if (archive.readUInt32LE(localOffset) !== LOCAL_FILE_HEADER)
      throw invalid(`entry ${name} has no local header`);

    const dataStart =
      localOffset +
      30 +
      archive.readUInt16LE(localOffset + 26) +
      archive.readUInt16LE(localOffset + 28);
    const raw = archive.subarray(dataStart, dataStart + compressedSize);
    const remaining = MAX_UNZIPPED_BYTES - unzippedBytes;
    if (declaredSize > remaining) throw tooLarge();
    let data: Buffer;
    if (method === METHOD_STORED) data = Buffer.from(raw);
    else if (method === METHOD_DEFLATE) {
      try {
        // Cap the output too: the declared size of a hostile archive can lie.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, remaining) });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge();
        throw invalid(`entry ${name} could not be inflated (${(error as Error).message})`);
      }
    } else throw invalid(`entry ${name} uses compression method ${method}`);
    unzippedBytes += data.length;
    if (unzippedBytes > MAX_UNZIPPED_BYTES) throw tooLarge();

    const mode = (externalAttributes >>> 16) & 0o777;
    entries.push({ name, data, mode: mode === 0 ? undefined : mode });
  }
  return entries;
}

/** Writes the entries under `directory`, rejecting paths that would escape it. */
export async function extractZip(archive: Buffer, directory: string): Promise<void> {
  const entries = readZip(archive);
  const root = path.resolve(directory);
  await mkdir(root, { recursive: true });

  for (const entry of entries) {
    const target = path.resolve(root, entry.name);
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw invalid(`entry ${entry.name} points outside the archive root`);
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, entry.data, { mode: entry.mode ?? 0o644 });
  }
}

/** Builds a zip archive of deflated entries, for tests and tools that upload code. */
export function createZip(files: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;

  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === "string" ? Buffer.from(content) : content;
    const compressed = deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const checksum = computeCrc32(data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_FILE_HEADER, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(METHOD_DEFLATE, 8);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_FILE_HEADER, 0);
    central.writeUInt16LE(0x0314, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(METHOD_DEFLATE, 10);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);

    offset += local.length + nameBytes.length + compressed.length;
  }

  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), which zip headers record; node:zlib exposes crc32 only from Node 22. */
function computeCrc32(data: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
