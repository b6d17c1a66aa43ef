import { appendFile, copyFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  resolveImageContent,
  SANDBOX_IMAGE_REPOSITORY,
} from "../../simulator/sandbox/docker-image.ts";
import { nodeModulesDir } from "./docker-harness.ts";

describe.skipIf(process.platform !== "linux")("sandbox image content", () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "warmstate-image-"));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("includes the libraries of node and sharp", async () => {
    const content = await resolveImageContent({ nodeModulesDir });
    const names = content.libraries.map((library) => path.basename(library));

    expect(content.tag.startsWith(`${SANDBOX_IMAGE_REPOSITORY}:`)).toBe(true);
    expect(names).toEqual(
      expect.arrayContaining(["libc.so.6", "libstdc++.so.6", "libresolv.so.2"]),
    );
    expect(content.libraries.some((library) => library.includes("node_modules"))).toBe(false);
  });

  it("keeps the tag for the same node binary elsewhere", async () => {
    const copy = path.join(workDir, "node-copy");
    await copyFile(process.execPath, copy);

    const original = await resolveImageContent({ nodeModulesDir });
    const copied = await resolveImageContent({ nodeModulesDir, nodeBinary: copy });

    expect(copied.tag).toBe(original.tag);
  });

  it("changes the tag when the node binary changes", async () => {
    const changed = path.join(workDir, "node-changed");
    await copyFile(process.execPath, changed);
    await appendFile(changed, Buffer.from([0]));

    const original = await resolveImageContent({ nodeModulesDir });
    const rebuilt = await resolveImageContent({ nodeModulesDir, nodeBinary: changed });

    expect(rebuilt.tag).not.toBe(original.tag);
  });
});
