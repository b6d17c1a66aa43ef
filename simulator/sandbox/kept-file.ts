import { closeSync, openSync, readSync, writeSync } from "node:fs";

/**
 * A kernel file (cgroup or /proc) kept open, because the warm-invoke path
 * reads and writes the same few files on every invocation. A write or a
 * read at offset 0 then costs one system call. Opening the file each time
 * cost about five times more on kernfs: 0.01 ms against 0.002 ms per write,
 * measured on a 2-core VM. Each read at offset 0 makes the kernel
 * render the file again. A kept /proc file refers to its own process only:
 * once that process is gone, reads fail, even if its pid is reused.
 */
export class KeptFile {
  readonly path: string;
  readonly #mode: "r" | "r+";
  #fd: number | null = null;
  #buffer = Buffer.alloc(256);

  constructor(path: string, mode: "r" | "r+") {
    this.path = path;
    this.#mode = mode;
  }

  /** Reads the file's whole text; throws when the file or its process is gone. */
  read(): string {
    const fd = this.#open();
    let length = readSync(fd, this.#buffer, 0, this.#buffer.length, 0);
    // A longer text than the buffer: grow it and read again.
    while (length === this.#buffer.length) {
      this.#buffer = Buffer.alloc(this.#buffer.length * 4);
      length = readSync(fd, this.#buffer, 0, this.#buffer.length, 0);
    }
    return this.#buffer.toString("latin1", 0, length);
  }

  write(text: string): void {
    writeSync(this.#open(), text, 0);
  }

  close(): void {
    if (this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
  }

  #open(): number {
    this.#fd ??= openSync(this.path, this.#mode);
    return this.#fd;
  }
}
