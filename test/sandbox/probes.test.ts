import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sampleDescriptorsAndTmp } from "../../simulator/sandbox/probes.ts";
import {
  listProcessTree,
  residentBytesOf,
  taskCountOf,
} from "../../simulator/sandbox/process-tree.ts";

const MIB = 1024 * 1024;
const children: ChildProcess[] = [];
const folders: string[] = [];

// Runs a Node.js script in a child process and waits for its first output line.
async function runScript(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await once(child.stdout as NodeJS.ReadableStream, "data");
  return child;
}

function newFolder(): string {
  // Under the host's /tmp, so the probes see these files on "their" /tmp.
  const folder = mkdtempSync(join(tmpdir(), "warmstate-probes-test-"));
  folders.push(folder);
  return folder;
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("descriptor probe", () => {
  it("lists the targets of open files", async () => {
    const folder = newFolder();
    const child = await runScript(`
      const fs = require("node:fs");
      for (let i = 0; i < 5; i++) fs.openSync(${JSON.stringify(folder)} + "/file-" + i, "w");
      console.log("ready");
      setInterval(() => {}, 1000);
    `);

    const sample = sampleDescriptorsAndTmp([child.pid as number]);

    const files = sample.descriptorTargets.filter((target) => target.startsWith(folder)).sort();
    expect(files).toEqual([0, 1, 2, 3, 4].map((index) => `${folder}/file-${index}`));
    expect(sample.openDescriptors).toBe(sample.descriptorTargets.length);
  });

  it("counts a deleted file once however many descriptors hold it", async () => {
    const folder = newFolder();
    const child = await runScript(`
      const fs = require("node:fs");
      const path = ${JSON.stringify(folder)} + "/deleted";
      const fd = fs.openSync(path, "w+");
      fs.writeSync(fd, Buffer.alloc(${MIB}, 1));
      fs.fsyncSync(fd);
      fs.openSync(path, "r");
      fs.unlinkSync(path);
      console.log("ready");
      setInterval(() => {}, 1000);
    `);

    const sample = sampleDescriptorsAndTmp([child.pid as number]);

    const deleted = sample.descriptorTargets.filter(
      (target) => target === `${folder}/deleted (deleted)`,
    );
    expect(deleted.length).toBe(2);
    expect(sample.tmpDeletedOpenBytes).toBe(MIB);
  });

  it("skips pids that no longer exist", async () => {
    const child = await runScript(`console.log("ready")`);
    await once(child, "exit");

    const sample = sampleDescriptorsAndTmp([child.pid as number]);

    expect(sample.openDescriptors).toBe(0);
    expect(sample.tmpBytes).toBe(0);
  });
});

describe("process tree probe", () => {
  it("finds children and grandchildren", async () => {
    const child = await runScript(`
      const { spawn } = require("node:child_process");
      const middle = spawn("sh", ["-c", "sleep 30 & sleep 30 & wait"], { stdio: "ignore" });
      setTimeout(() => console.log(middle.pid), 300);
      setInterval(() => {}, 1000);
    `);

    const pids = listProcessTree(child.pid as number);

    // node, sh and its two sleeps.
    expect(pids.length).toBe(4);
    expect(pids[0]).toBe(child.pid);
  });

  it("sums memory and tasks of a running process", async () => {
    const child = await runScript(`
      globalThis.kept = Buffer.alloc(${32 * MIB}, 1);
      console.log("ready");
      setInterval(() => {}, 1000);
    `);

    const resident = residentBytesOf([child.pid as number]);
    const tasks = taskCountOf([child.pid as number]);

    expect(resident).toBeGreaterThan(32 * MIB);
    // Node.js runs libuv and V8 worker threads beside the main thread.
    expect(tasks).toBeGreaterThan(1);
  });
});
