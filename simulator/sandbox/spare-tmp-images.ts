import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  attachLoopDevice,
  createTmpImage,
  detachLoopDevice,
  type ImageTools,
} from "./tmp-image.ts";

/**
 * Formatted and attached /tmp images kept ready, one per size, so a cold
 * start does not wait for mkfs and losetup. Taking a spare moves its file
 * into the sandbox's folder (the loop device follows the rename) and starts
 * preparing the next one in the background.
 */
export class SpareTmpImages {
  readonly #folder: string;
  readonly #tools: ImageTools;
  readonly #spares = new Map<number, Promise<Spare | null>>();
  #counter = 0;
  #closed = false;

  constructor(folder: string, tools: ImageTools) {
    this.#folder = folder;
    this.#tools = tools;
  }

  /** Places an attached image of `sizeMb` at `imagePath` and returns its loop device. */
  async take(sizeMb: number, imagePath: string): Promise<string> {
    const pending = this.#spares.get(sizeMb);
    this.#spares.delete(sizeMb);
    const spare = pending ? await pending : null;

    let device: string;
    if (spare) {
      renameSync(spare.path, imagePath);
      device = spare.device;
    } else {
      await createTmpImage(imagePath, sizeMb, this.#tools);
      device = await attachLoopDevice(imagePath, this.#tools);
    }

    // Concurrent takes of one size must not start two spares, or the one
    // replaced in the map would never be detached.
    if (!this.#closed && !this.#spares.has(sizeMb)) this.#spares.set(sizeMb, this.#prepare(sizeMb));
    return device;
  }

  /** Detaches and deletes every spare. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = [...this.#spares.values()];
    this.#spares.clear();

    for (const spare of await Promise.all(pending)) {
      if (!spare) continue;
      await detachLoopDevice(spare.device, this.#tools);
      rmSync(spare.path, { force: true });
    }
  }

  // Resolves with null when preparing fails, so the next take formats its own image.
  async #prepare(sizeMb: number): Promise<Spare | null> {
    const path = join(this.#folder, `spare-${sizeMb}-${++this.#counter}.img`);
    try {
      mkdirSync(this.#folder, { recursive: true });
      await createTmpImage(path, sizeMb, this.#tools);
      return { path, device: await attachLoopDevice(path, this.#tools) };
    } catch {
      rmSync(path, { force: true });
      return null;
    }
  }
}

interface Spare {
  path: string;
  device: string;
}
