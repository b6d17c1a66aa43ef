import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import type { Sandbox, SandboxBackend, SandboxSpec } from "./backend.ts";
import {
  findCgroupBases,
  listOwnerFolders,
  ownerName,
  ownerPidOf,
  removeCgroupRoots,
  removeOwnerFolder,
} from "./cgroup-v1.ts";
import { findNodeBinary } from "./node-binary.ts";
import {
  detectMechanisms,
  type MechanismOverrides,
  type ProcessMechanisms,
} from "./process-mechanisms.ts";
import { ProcessSandbox } from "./process-sandbox.ts";
import { SpareTmpImages } from "./spare-tmp-images.ts";
import { attachedLoopDevices, detachLoopDevice } from "./tmp-image.ts";

/** Options of {@link ProcessBackend}. */
export interface ProcessBackendOptions {
  /** The simulator's data directory; sandboxes live in `<dataDir>/sandboxes/`. */
  dataDir: string;
  logger: Logger;
  /** Entry script of the project's Node.js runtime client. */
  runtimeClientPath: string;
  /** Forces fallback mechanisms, for tests of the non-root path. */
  overrides?: MechanismOverrides;
}

// Numbers the backends of this process, so two backends never share a cgroup or folder.
let backendCount = 0;

// Runtime uids: a block of 1024 per simulator pid, high above the uids a
// distribution hands out, so RLIMIT_NPROC counts only one sandbox's tasks.
const UID_BASE = 0x2000_0000;
const UIDS_PER_SIMULATOR = 1024;

// Lambda's default PATH for managed runtimes, minus folders that do not exist here.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The embedded sandbox backend: each sandbox is a process tree in its own
 * mount namespace, with a private /tmp and the function's limits, and needs
 * no daemon. Mechanisms depend on privileges and are logged at first use.
 */
export class ProcessBackend implements SandboxBackend {
  readonly name = "process" as const;

  readonly #options: ProcessBackendOptions;
  readonly #log: Logger;
  readonly #ownerName: string;
  readonly #ownerFolder: string;
  readonly #sandboxes = new Set<ProcessSandbox>();
  readonly #usedUids = new Set<number>();
  readonly #nodeBinaries = new Map<number, Promise<string>>();
  #mechanisms: Promise<ProcessMechanisms> | null = null;
  #spareImages: SpareTmpImages | null = null;
  #nextUidSlot = 0;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options: ProcessBackendOptions) {
    this.#options = options;
    this.#log = options.logger.child({ backend: "process" });
    this.#ownerName = ownerName(process.pid, ++backendCount);
    this.#ownerFolder = join(options.dataDir, "sandboxes", this.#ownerName);
  }

  /** Detects the mechanisms on first call and returns them. */
  mechanisms(): Promise<ProcessMechanisms> {
    this.#mechanisms ??= this.#detect();
    return this.#mechanisms;
  }

  async start(spec: SandboxSpec): Promise<Sandbox> {
    if (this.#closed)
      throw new Error(`Cannot start sandbox ${spec.environmentId}: the process backend is closed.`);
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(spec.environmentId) || spec.environmentId.startsWith(".")) {
      throw new Error(
        `Invalid environmentId ${JSON.stringify(spec.environmentId)}: use 1 to 128 letters, digits, dots, hyphens or underscores.`,
      );
    }
    const mechanisms = await this.mechanisms();

    const folder = join(this.#ownerFolder, spec.environmentId);
    mkdirSync(folder, { recursive: true });
    const uid = this.#allocateUid();
    const command = await this.#runtimeCommand(spec);

    const sandbox = await ProcessSandbox.start({
      spec,
      mechanisms,
      logger: this.#log,
      folder,
      cgroupName: `env-${spec.environmentId}`,
      uid,
      command,
      env: runtimeEnv(spec),
      spareImages: this.#spareImagesFor(mechanisms),
      onStopped: () => {
        this.#sandboxes.delete(sandbox);
        this.#usedUids.delete(uid);
      },
    }).catch((error: unknown) => {
      this.#usedUids.delete(uid);
      throw error;
    });
    this.#sandboxes.add(sandbox);
    return sandbox;
  }

  /**
   * Removes sandboxes of simulators that no longer run: kills their
   * processes, detaches their loop devices, removes their cgroups and folders.
   * Sandboxes of live simulators (their pid is in the name) stay untouched.
   */
  async removeOrphans(): Promise<void> {
    const { tools } = await this.mechanisms();
    let removed = 0;

    for (const { path, controller, ownerPid } of listOwnerFolders(findCgroupBases())) {
      if (isAlive(ownerPid)) continue;
      await removeOwnerFolder(path, controller);
      removed += 1;
    }

    // Every data directory's images, because a deleted data directory
    // leaves its loop devices attached to deleted files.
    for (const { device, backingFile } of attachedLoopDevices()) {
      const owner = /\/sandboxes\/([^/]+)\//.exec(backingFile)?.[1];
      const ownerPid = owner ? ownerPidOf(owner) : null;
      if (ownerPid === null || isAlive(ownerPid)) continue;
      try {
        await detachLoopDevice(device, tools);
        removed += 1;
      } catch (error) {
        this.#log.warn({ err: error, device, backingFile }, "orphaned loop device still in use");
      }
    }

    const sandboxesFolder = join(this.#options.dataDir, "sandboxes");
    for (const name of listFolder(sandboxesFolder)) {
      const ownerPid = ownerPidOf(name);
      if (ownerPid === null || isAlive(ownerPid)) continue;
      rmSync(join(sandboxesFolder, name), { recursive: true, force: true });
      removed += 1;
    }
    if (removed > 0) this.#log.info({ removed }, "orphaned sandboxes removed");
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled(
      [...this.#sandboxes].map((sandbox) => sandbox.stop(1000)),
    );
    for (const result of results) {
      if (result.status === "rejected")
        this.#log.error({ err: result.reason }, "sandbox failed to stop");
    }

    await this.#spareImages?.close();
    if (this.#mechanisms) {
      const mechanisms = await this.#mechanisms.catch(() => null);
      if (mechanisms) removeCgroupRoots(mechanisms.cgroupRoots);
    }
    rmSync(this.#ownerFolder, { recursive: true, force: true });
  }

  async #detect(): Promise<ProcessMechanisms> {
    const { mechanisms, fallbackReasons } = await detectMechanisms({
      dataDir: this.#options.dataDir,
      ownerFolder: this.#ownerFolder,
      ownerName: this.#ownerName,
      overrides: this.#options.overrides ?? {},
    });
    this.#log.info(
      {
        isolation: mechanisms.isolation,
        tmpKind: mechanisms.tmpKind,
        memoryEnforcement: mechanisms.memoryEnforcement,
        freezing: mechanisms.freezing,
        processTracking: mechanisms.processTracking,
        sandboxUser: mechanisms.sandboxUser,
        fallbackReasons,
      },
      "process backend mechanisms",
    );
    return mechanisms;
  }

  #spareImagesFor(mechanisms: ProcessMechanisms): SpareTmpImages | null {
    if (mechanisms.tmpKind !== "ext4 loop image") return null;
    this.#spareImages ??= new SpareTmpImages(
      join(this.#ownerFolder, "spare-images"),
      mechanisms.tools,
    );
    return this.#spareImages;
  }

  #allocateUid(): number {
    const block = UID_BASE + (process.pid % 0x10000) * UIDS_PER_SIMULATOR;
    for (let attempt = 0; attempt < UIDS_PER_SIMULATOR; attempt++) {
      const uid = block + (this.#nextUidSlot++ % UIDS_PER_SIMULATOR);
      if (this.#usedUids.has(uid)) continue;
      this.#usedUids.add(uid);
      return uid;
    }
    throw new Error(`Cannot start more than ${UIDS_PER_SIMULATOR} process sandboxes at once.`);
  }

  async #runtimeCommand(spec: SandboxSpec): Promise<string[]> {
    if (spec.entry.kind === "bootstrap") return [join(spec.codeDir, "bootstrap")];

    const major = spec.entry.nodeMajor;
    let binary = this.#nodeBinaries.get(major);
    if (!binary) {
      binary = findNodeBinary(major, this.#log, spec.functionName);
      this.#nodeBinaries.set(major, binary);
    }
    return [await binary, this.#options.runtimeClientPath];
  }
}

// The runtime's environment: the spec's, with the task root and the Runtime
// API address filled in as this backend provides them.
function runtimeEnv(spec: SandboxSpec): Record<string, string> {
  return {
    PATH: DEFAULT_PATH,
    ...spec.env,
    // PARITY: Lambda's task root is /var/task. The process backend shows the
    // code at its own path (read-only), so the variable points there.
    LAMBDA_TASK_ROOT: spec.codeDir,
    AWS_LAMBDA_RUNTIME_API:
      spec.env.AWS_LAMBDA_RUNTIME_API ?? `${spec.runtimeApi.host}:${spec.runtimeApi.port}`,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function listFolder(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
