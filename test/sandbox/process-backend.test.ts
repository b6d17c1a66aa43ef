import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../simulator/sandbox/backend.ts";
import { ProcessBackend } from "../../simulator/sandbox/process-backend.ts";
import type { ProcessSandbox } from "../../simulator/sandbox/process-sandbox.ts";
import {
  countSleeps,
  describeBackendContract,
  PROBE_FUNCTION_DIR,
  probeSpec,
  processesWithArgument,
  startWatched,
} from "../fixtures/sandbox/backend-contract.ts";

const dataDirs: string[] = [];
const backends: ProcessBackend[] = [];
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

function newBackend(
  overrides: ConstructorParameters<typeof ProcessBackend>[0]["overrides"] = {},
  dataDir = mkdtempSync(join(tmpdir(), "warmstate-process-test-")),
): ProcessBackend {
  dataDirs.push(dataDir);
  const backend = new ProcessBackend({
    dataDir,
    logger: silent,
    runtimeClientPath: fileURLToPath(
      new URL("../fixtures/sandbox/fake-runtime-client.mjs", import.meta.url),
    ),
    overrides,
  });
  backends.push(backend);
  return backend;
}

const orphanMakers: ChildProcess[] = [];

afterAll(async () => {
  // A test that failed before killing its orphan maker must not leave it running.
  for (const child of orphanMakers) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  // Remove the folders even when a close fails, then report the failure.
  const closed = await Promise.allSettled(backends.map((backend) => backend.close()));
  for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  for (const result of closed) if (result.status === "rejected") throw result.reason;
});

const isRoot = process.getuid?.() === 0;

describeBackendContract("process backend", () => newBackend());
describeBackendContract("process backend without root mechanisms", () =>
  newBackend({ unprivileged: true }),
);
describe.skipIf(!isRoot)("process backend with signal freezing", () => {
  it("freezes with SIGSTOP when told to", async () => {
    const backend = newBackend({ freezing: "signals" });
    const watched = await startWatched(
      backend,
      probeSpec("signal-freeze", { env: { FIXTURE_ACTION: "tick" } }),
    );
    await watched.waitForLine((line) => Number(line.tick) >= 2);

    await watched.sandbox.freeze();
    // freeze() returns once SIGSTOP is queued; the stop itself follows.
    const pid = runtimePidOf(watched.sandbox);
    let state = readProcessState(pid);
    for (let attempt = 0; attempt < 200 && state !== "T"; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      state = readProcessState(pid);
    }
    await watched.sandbox.thaw();
    await watched.sandbox.stop(500);

    expect((await backend.mechanisms()).freezing).toBe("signals");
    expect(state).toBe("T");
  });
});

describe("process backend mechanisms", () => {
  it.skipIf(!isRoot)("uses loop images, cgroups and the freezer as root", async () => {
    const mechanisms = await newBackend().mechanisms();

    expect(mechanisms.tmpKind).toBe("ext4 loop image");
    expect(mechanisms.memoryEnforcement).toBe("memory cgroup");
    expect(mechanisms.freezing).toBe("cgroup freezer");
    expect(mechanisms.sandboxUser).toBe("uid per sandbox");
  });

  it("uses a user namespace, tmpfs and a watchdog without root", async () => {
    const mechanisms = await newBackend({ unprivileged: true }).mechanisms();

    expect(mechanisms.isolation).toBe("user and mount namespace");
    expect(mechanisms.tmpKind).toBe("tmpfs");
    expect(mechanisms.memoryEnforcement).toBe("watchdog");
    expect(mechanisms.freezing).toBe("signals");
  });
});

describe("process backend runtime entry", () => {
  afterEach(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
  });

  it("runs the runtime client on a matching Node.js", async () => {
    const backend = newBackend();
    const spec = probeSpec("node-entry", {
      entry: { kind: "node", nodeMajor: Number(process.versions.node.split(".")[0]) },
    });

    const watched = await startWatched(backend, spec);
    const line = await watched.waitForLine((entry) => entry.client === "fake");

    expect(line.nodeVersion).toBe(process.version);
    expect(line.runtimeApi).toBe("127.0.0.1:9001");
    expect(line.taskRoot).toBe(PROBE_FUNCTION_DIR);
  });

  it("runs the runtime as a non-root uid", async () => {
    const backend = newBackend();
    const watched = await startWatched(
      backend,
      probeSpec("uid-check", { entry: { kind: "node", nodeMajor: 20 } }),
    );

    const line = await watched.waitForLine((entry) => entry.client === "fake");

    if (isRoot) expect(line.uid).not.toBe(0);
    expect(line.codeWritable).toBe(false);
  });
});

describe("process backend start failures", () => {
  it("reports a missing bootstrap as exit 127", async () => {
    const backend = newBackend();
    const codeDir = mkdtempSync(join(tmpdir(), "warmstate-empty-code-"));
    dataDirs.push(codeDir);

    const watched = await startWatched(backend, probeSpec("no-bootstrap", { codeDir }));
    const exit = await watched.waitForExit();
    await watched.sandbox.stop(200);

    expect(exit).toEqual({ exitCode: 127, signal: null, outOfMemory: false });
    expect(watched.stderr.join("")).toContain("bootstrap");
  });
});

describe("process backend code under /tmp", () => {
  for (const [label, overrides] of [
    ["as root", {}],
    ["without root mechanisms", { unprivileged: true }],
  ] as const) {
    it(`runs code stored under the host's /tmp ${label}`, async () => {
      if (label === "as root" && !isRoot) return;
      const backend = newBackend(overrides);
      const codeDir = mkdtempSync(join(tmpdir(), "warmstate-code-"));
      dataDirs.push(codeDir);
      cpSync(PROBE_FUNCTION_DIR, codeDir, { recursive: true });
      // mkdtemp creates the folder for its owner only, and the runtime runs as another user.
      chmodSync(codeDir, 0o755);
      const env = {
        FIXTURE_ACTION: "hold-files",
        FIXTURE_FILES: "2",
        FIXTURE_FILE_BYTES: "100",
        FIXTURE_DELETED: "0",
      };

      const watched = await startWatched(
        backend,
        probeSpec(`code-in-tmp-${label.length}`, { codeDir, env }),
      );
      await watched.waitForLine((line) => line.ready === true);
      const sample = await watched.sandbox.measure();
      await watched.sandbox.stop(200);

      expect(sample.tmpFiles).toBe(2);
    });
  }
});

describe("process backend cleanup", () => {
  it("leaves nothing behind after stop", async () => {
    const backend = newBackend();
    const watched = await startWatched(
      backend,
      probeSpec("cleanup-stop", { env: { FIXTURE_ACTION: "spawn-processes" } }),
    );
    await waitUntil(() => watched.sandbox.measure().then((sample) => sample.processCount > 30));
    const pids = sandboxPids(watched.sandbox);
    const mechanisms = await backend.mechanisms();

    await watched.sandbox.stop(200);

    expect(pids.filter(isAlive)).toEqual([]);
    // The backend keeps one formatted spare image per size attached for the next cold start.
    const sandboxLoops = loopDevicesUnder(dataDirs.at(-1) as string).filter(
      (backing) => !backing.includes("/spare-images/"),
    );
    expect(sandboxLoops).toEqual([]);
    for (const root of Object.values(mechanisms.cgroupRoots)) {
      expect(readdirSync(root).filter((name) => name.startsWith("env-"))).toEqual([]);
    }
    const sandboxesFolder = join(dataDirs.at(-1) as string, "sandboxes");
    const leftFolders = readdirSync(sandboxesFolder).filter((owner) =>
      existsSync(join(sandboxesFolder, owner, "cleanup-stop")),
    );
    expect(leftFolders).toEqual([]);
  });

  it("leaves nothing behind after close", async () => {
    const backend = newBackend();
    const dataDir = dataDirs.at(-1) as string;
    const first = await startWatched(
      backend,
      probeSpec("close-1", { env: { FIXTURE_ACTION: "tick" } }),
    );
    const second = await startWatched(
      backend,
      probeSpec("close-2", {
        env: {
          FIXTURE_ACTION: "hold-files",
          FIXTURE_FILES: "2",
          FIXTURE_FILE_BYTES: "100",
          FIXTURE_DELETED: "0",
        },
      }),
    );
    await first.waitForLine((line) => Number(line.tick) >= 1);
    await second.waitForLine((line) => line.ready === true);
    const pids = [...sandboxPids(first.sandbox), ...sandboxPids(second.sandbox)];
    const mechanisms = await backend.mechanisms();

    await backend.close();

    expect(pids.filter(isAlive)).toEqual([]);
    expect(loopDevicesUnder(dataDir)).toEqual([]);
    for (const root of Object.values(mechanisms.cgroupRoots)) expect(existsSync(root)).toBe(false);
    expect(readdirSync(join(dataDir, "sandboxes"))).toEqual([]);
  });

  it("leaves nothing behind after concurrent starts", async () => {
    const backend = newBackend();
    const dataDir = dataDirs.at(-1) as string;
    const specs = [1, 2, 3, 4].map((index) =>
      probeSpec(`concurrent-${index}`, { env: { FIXTURE_ACTION: "exit" } }),
    );

    const sandboxes = await Promise.all(specs.map((spec) => backend.start(spec)));
    await Promise.all(sandboxes.map((sandbox) => sandbox.stop(200)));
    await backend.close();

    expect(loopDevicesUnder(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, "sandboxes"))).toEqual([]);
  });

  it.skipIf(!isRoot)("removes the sandboxes of a killed simulator", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warmstate-orphans-test-"));
    dataDirs.push(dataDir);
    const sleepArgument = `${3000 + Math.random()}`.slice(0, 12);
    const { child, report } = await startOrphanMaker(dataDir, "root", sleepArgument);
    await countSleeps(sleepArgument, 1);

    child.kill("SIGKILL");
    await once(child, "exit");
    expect(report.cgroups.length).toBeGreaterThan(0);
    expect(report.cgroups.every((path) => existsSync(path))).toBe(true);
    expect(report.folders.length).toBe(1);
    await newBackend({}, dataDir).removeOrphans();

    expect(report.cgroups.filter((path) => existsSync(path))).toEqual([]);
    expect(report.folders.filter((path) => existsSync(path))).toEqual([]);
    expect(loopDevicesUnder(dataDir)).toEqual([]);
    expect(isAlive(report.runtimePid)).toBe(false);
    expect(processesWithArgument(sleepArgument)).toEqual([]);
  });

  it("ends every sandbox process with a killed simulator without root mechanisms", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warmstate-orphans-test-"));
    dataDirs.push(dataDir);
    const sleepArgument = `${4000 + Math.random()}`.slice(0, 12);
    const { child, report } = await startOrphanMaker(dataDir, "unprivileged", sleepArgument);
    const sleepsBefore = await countSleeps(sleepArgument, 1);

    child.kill("SIGKILL");
    await once(child, "exit");
    const sleepsAfter = await countSleeps(sleepArgument, 0);

    expect(sleepsBefore).toBe(1);
    expect(sleepsAfter).toBe(0);
    expect(await aliveAfterExit(report.runtimePid)).toBe(false);
  });
});

async function startOrphanMaker(
  dataDir: string,
  mode: "root" | "unprivileged",
  sleepArgument: string,
): Promise<{
  child: ChildProcess;
  report: { runtimePid: number; cgroups: string[]; folders: string[] };
}> {
  const script = fileURLToPath(new URL("../fixtures/sandbox/orphan-maker.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, dataDir, mode, sleepArgument], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  orphanMakers.push(child);
  return { child, report: JSON.parse(await firstLine(child.stdout)) };
}

function runtimePidOf(sandbox: Sandbox): number {
  return (sandbox as ProcessSandbox).runtimePid as number;
}

function sandboxPids(sandbox: Sandbox): number[] {
  return (sandbox as ProcessSandbox).listPids();
}

function readProcessState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

// The parent-death signal arrives after the simulator is gone, and on a
// loaded machine the process may take a moment to die: wait up to 2 s.
async function aliveAfterExit(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100 && isAlive(pid); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

// Backing files of the loop devices attached to files under `folder`.
function loopDevicesUnder(folder: string): string[] {
  const backingFiles: string[] = [];
  for (const name of readdirSync("/sys/block").filter((entry) => entry.startsWith("loop"))) {
    try {
      const backing = readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim();
      if (backing.startsWith(folder)) backingFiles.push(backing);
    } catch {
      // Not attached.
    }
  }
  return backingFiles;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function firstLine(stream: NodeJS.ReadableStream | null): Promise<string> {
  let text = "";
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    text += chunk.toString();
    if (text.includes("\n")) return text.split("\n")[0];
  }
  throw new Error(`Stream ended before a full line: ${JSON.stringify(text)}`);
}
