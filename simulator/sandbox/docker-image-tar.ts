/**
 * A minimal POSIX ustar writer for the sandbox image's build context.
 * Written here rather than through dockerode's context packing because that
 * applies the process umask to every mode, which turns /tmp's 1777 into
 * 1755, and because fixed owners and times keep the context reproducible.
 */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";

/** One entry of the archive. */
export type TarEntry =
  | { type: "directory"; name: string; mode: number }
  | { type: "file"; name: string; mode: number; source: string; size: number }
  | { type: "content"; name: string; mode: number; content: Buffer };

const BLOCK = 512;

function header(name: string, mode: number, size: number, typeflag: "0" | "5"): Buffer {
  const block = Buffer.alloc(BLOCK);
  let prefix = "";
  let shortName = name;
  if (Buffer.byteLength(name) > 100) {
    const split = name.lastIndexOf("/", 155);
    prefix = name.slice(0, split);
    shortName = name.slice(split + 1);
    if (split <= 0 || Buffer.byteLength(shortName) > 100)
      throw new Error(`Path too long for a tar header: ${name}`);
  }

  block.write(shortName, 0, 100);
  block.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
  block.write("0000000\0", 108); // uid 0
  block.write("0000000\0", 116); // gid 0
  block.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  block.write("00000000000\0", 136); // mtime 0, for a reproducible context
  block.write("        ", 148); // checksum field counts as spaces while summing
  block.write(typeflag, 156);
  block.write("ustar\0", 257);
  block.write("00", 263);
  block.write(prefix, 345, 155);

  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

/** Writes `entries` as an uncompressed tar archive to `file`. */
export async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  const out = createWriteStream(file);
  const write = async (data: Buffer): Promise<void> => {
    if (!out.write(data)) await once(out, "drain");
  };
  const pad = async (size: number): Promise<void> => {
    if (size % BLOCK !== 0) await write(Buffer.alloc(BLOCK - (size % BLOCK)));
  };

  for (const entry of entries) {
    if (entry.type === "directory") {
      await write(header(`${entry.name.replace(/\/$/, "")}/`, entry.mode, 0, "5"));
    } else if (entry.type === "content") {
      await write(header(entry.name, entry.mode, entry.content.length, "0"));
      await write(entry.content);
      await pad(entry.content.length);
    } else {
      await write(header(entry.name, entry.mode, entry.size, "0"));
      let copied = 0;
      for await (const chunk of createReadStream(entry.source)) {
        copied += (chunk as Buffer).length;
        await write(chunk as Buffer);
      }
      if (copied !== entry.size)
        throw new Error(`${entry.source} changed size while being archived`);
      await pad(entry.size);
    }
  }
  await write(Buffer.alloc(BLOCK * 2));
  out.end();
  await once(out, "finish");
}
