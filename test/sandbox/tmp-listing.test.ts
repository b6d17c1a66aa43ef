import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Sandbox, SandboxBackend, TmpFileGroup } from "../../simulator/sandbox/backend.ts";
import { DockerBackend } from "../../simulator/sandbox/docker-backend.ts";
import { ProcessBackend } from "../../simulator/sandbox/process-backend.ts";
import { pathPattern, TmpFileGrouping, walkTmp } from "../../simulator/sandbox/tmp-listing.ts";
import { probeSpec, startWatched } from "../fixtures/sandbox/backend-contract.ts";
import {
  findEngineProblem,
  nodeModulesDir,
  runtimeClientDir,
  runtimeClientEntry,
} from "./docker-harness.ts";

const MIB = 1024 * 1024;
// The probe function is a custom runtime, so the Node.js runtime client never runs.
const fakeRuntimeClient = fileURLToPath(
  new URL("../fixtures/sandbox/fake-runtime-client.mjs", import.meta.url),
);
const silent = pino({ level: "silent" });
// Outside /tmp, because process sandboxes get a private /tmp.
const scratch = path.join(homedir(), ".warmstate-test");
const folders: string[] = [];

function newFolder(): string {
  mkdirSync(scratch, { recursive: true });
  const folder = mkdtempSync(path.join(scratch, "tmp-listing-"));
  // mkdtemp creates 0700 folders, and the sandbox user must read what a backend keeps there.
  chmodSync(folder, 0o755);
  folders.push(folder);
  return folder;
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe("path patterns", () => {
  it("replaces numbers in each name", () => {
    expect(pathPattern("/tmp/doc-12.pdf.pages/page-0003.pdf")).toBe(
      "/tmp/doc-*.pdf.pages/page-*.pdf",
    );
  });

  it("keeps the word before a number", () => {
    expect(pathPattern("/tmp/page12.png")).toBe("/tmp/page*.png");
  });

  it("replaces random tokens that contain digits", () => {
    expect(pathPattern("/tmp/x-7f3a9c.tmp")).toBe("/tmp/x-*.tmp");
    expect(pathPattern("/tmp/x-a1B2c3.tmp")).toBe("/tmp/x-*.tmp");
  });

  it("leaves names without digits alone", () => {
    expect(pathPattern("/tmp/cache/index.json")).toBe("/tmp/cache/index.json");
  });
});

describe("tmp file grouping", () => {
  it("groups a walked folder by pattern with sizes", () => {
    const folder = newFolder();
    for (let index = 0; index < 5; index++)
      writeFileSync(path.join(folder, `page-${index}.png`), Buffer.alloc(8192, 1));
    mkdirSync(path.join(folder, "doc-1.pages"));
    writeFileSync(path.join(folder, "doc-1.pages", "part-1.pdf"), Buffer.alloc(4096, 1));
    const grouping = new TmpFileGrouping();

    walkTmp(grouping, folder);
    const groups = grouping.groups();

    expect(grouping.files).toBe(6);
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({
      pattern: "/tmp/page-*.png",
      files: 5,
      bytes: 5 * 8192,
      bytesEstimated: false,
      deleted: false,
    });
    expect(groups[0].example).toMatch(/^\/tmp\/page-\d\.png$/);
    expect(groups[1]).toMatchObject({
      pattern: "/tmp/doc-*.pages/part-*.pdf",
      files: 1,
      bytes: 4096,
    });
  });

  it("estimates the bytes of large groups from a sample", () => {
    const folder = newFolder();
    // More files than the probes size per group.
    for (let index = 0; index < 300; index++)
      writeFileSync(path.join(folder, `page-${index}.png`), Buffer.alloc(4096, 1));
    const grouping = new TmpFileGrouping();

    walkTmp(grouping, folder);
    const [group] = grouping.groups();

    expect(group.files).toBe(300);
    expect(group.bytesEstimated).toBe(true);
    expect(group.bytes).toBe(300 * 4096);
  });

  it("keeps deleted files apart from visible ones", () => {
    const grouping = new TmpFileGrouping();

    grouping.addDeletedFile("/tmp/x-1.tmp", 4096);
    grouping.addDeletedFile("/tmp/x-2.tmp", 8192);
    const groups = grouping.groups();

    expect(groups).toEqual([
      {
        pattern: "/tmp/x-*.tmp",
        example: "/tmp/x-1.tmp",
        files: 2,
        bytes: 12288,
        bytesEstimated: false,
        deleted: true,
      },
    ]);
  });

  it("folds patterns past the group cap into their folder", () => {
    const folder = newFolder();
    // Names without digits give one pattern each.
    const names = Array.from(
      { length: 80 },
      (_, index) =>
        `file-${String.fromCharCode(97 + (index % 26))}${String.fromCharCode(97 + Math.floor(index / 26))}`,
    );
    for (const name of names) writeFileSync(path.join(folder, name), "x");
    const grouping = new TmpFileGrouping();

    walkTmp(grouping, folder);
    const groups = grouping.groups();

    expect(groups.length).toBeLessThanOrEqual(65);
    expect(groups.find((group) => group.pattern === "/tmp/*")?.files).toBe(80 - 64);
    expect(groups.reduce((sum, group) => sum + group.files, 0)).toBe(80);
  });
});

const docker = new Dockerode();
const engineProblem = await findEngineProblem(docker);

const backendFactories: Array<{
  name: string;
  skip?: string;
  create: (dataDir: string) => SandboxBackend;
}> = [
  {
    name: "process",
    create: (dataDir) =>
      new ProcessBackend({ dataDir, logger: silent, runtimeClientPath: fakeRuntimeClient }),
  },
  {
    name: "docker",
    skip: engineProblem,
    create: (dataDir) =>
      new DockerBackend({
        dataDir,
        logger: silent,
        runtimeClientDir,
        runtimeClientEntry,
        nodeModulesDir,
        docker,
      }),
  },
];

for (const { name, skip, create } of backendFactories) {
  describe.skipIf(skip !== undefined)(
    `${name} backend: /tmp listing${skip ? ` (skipped: ${skip})` : ""}`,
    () => {
      const started: Sandbox[] = [];
      let backend: SandboxBackend | undefined;

      afterEach(async () => {
        await Promise.all(started.splice(0).map((sandbox) => sandbox.stop(500)));
      });

      afterAll(async () => {
        await backend?.close();
      });

      it("groups held files and deleted ones by pattern", async () => {
        backend ??= create(newFolder());
        const env = {
          FIXTURE_ACTION: "hold-files",
          FIXTURE_FILES: "3",
          FIXTURE_FILE_BYTES: String(MIB),
          FIXTURE_DELETED: "1",
        };
        const watched = await startWatched(
          backend,
          probeSpec(`tmp-listing-${process.pid}-${name}`, { env }),
        );
        started.push(watched.sandbox);
        await watched.waitForLine((line) => line.ready === true);

        const sample = await watched.sandbox.measure();
        const groups = sample.tmpFileGroups ?? [];
        const visible = groups.find((group) => group.pattern === "/tmp/held-*" && !group.deleted);
        const deleted = groups.find((group) => group.pattern === "/tmp/held-*" && group.deleted);

        expect(visible).toMatchObject<Partial<TmpFileGroup>>({
          files: 2,
          bytes: 2 * MIB,
          bytesEstimated: false,
        });
        expect(deleted).toMatchObject<Partial<TmpFileGroup>>({
          example: "/tmp/held-0",
          files: 1,
          bytes: MIB,
        });
        expect(sample.tmpFiles).toBe(2);
      });
    },
  );
}
