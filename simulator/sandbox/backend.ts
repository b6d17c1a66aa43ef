/**
 * The sandbox backend interface: start a sandbox from a spec, freeze, thaw,
 * measure, reset its runtime, stop. A backend has no notion of pooling: the
 * execution environment decides when to call which method.
 */

/** Kinds of sandbox. */
export type BackendName = "process" | "docker";

/** Everything a backend needs to start one sandbox. */
export interface SandboxSpec {
  /** Id of the execution environment this sandbox serves; used in names and labels. */
  environmentId: string;
  functionName: string;
  /** Host folder with the function's code; appears read-only as the task root. */
  codeDir: string;
  /**
   * Command of the runtime process, as paths inside the sandbox. For Node.js
   * runtimes the backend resolves `{ kind: "node" }` to its Node.js binary and
   * the project's runtime client; for custom runtimes it runs the code's
   * `bootstrap`.
   */
  entry: { kind: "node"; nodeMajor: number } | { kind: "bootstrap" };
  /** Environment variables of the runtime process, Lambda's own included. */
  env: Record<string, string>;
  /** Host and port of this environment's Runtime API, reachable from inside. */
  runtimeApi: { host: string; port: number };
  memoryMb: number;
  ephemeralStorageMb: number;
  /** RLIMIT_NOFILE, default 1024. */
  nofile: number;
  /** RLIMIT_NPROC, default 1024. */
  nproc: number;
}

/** End of a runtime process: exit status, signal and cause. */
export interface RuntimeExit {
  /** Exit status, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the memory limit killed it (cgroup OOM killer or watchdog). */
  outOfMemory: boolean;
}

/** One reading of a sandbox's resources, taken from outside the sandbox. */
export interface ResourceSample {
  /** Open descriptors over the sandbox's processes. */
  openDescriptors: number;
  /** Targets of those descriptors (`/tmp/page-1.png`, `socket:[123]`, ...). */
  descriptorTargets: string[];
  /** Bytes used in /tmp, including files deleted but still open. */
  tmpBytes: number;
  /** Regular files visible in /tmp. */
  tmpFiles: number;
  /** Bytes held by files that are deleted but still open. */
  tmpDeletedOpenBytes: number;
  /** Resident memory of the sandbox's processes, in bytes. */
  residentBytes: number;
  /** Peak memory since the runtime started, in bytes, where the backend can tell. */
  peakResidentBytes: number;
  /** Processes and threads in the sandbox. */
  processCount: number;
  /**
   * /tmp files grouped by name pattern, with deleted files that are still
   * open in groups of their own. Absent where the backend cannot list /tmp.
   */
  tmpFileGroups?: TmpFileGroup[];
}

/** Files in /tmp whose paths share one pattern, such as `/tmp/page-*.png`. */
export interface TmpFileGroup {
  /** Path inside the sandbox with every token that contains a digit replaced by `*`. */
  pattern: string;
  /** One path of the group, as a path inside the sandbox. */
  example: string;
  files: number;
  /** Bytes allocated to the files (blocks, not apparent size). */
  bytes: number;
  /** True when `bytes` is extrapolated from the sizes of some of the files. */
  bytesEstimated: boolean;
  /** True for files that are deleted but still held by a descriptor. */
  deleted: boolean;
}

/** A started sandbox. Every method is safe to call after the runtime exited. */
export interface Sandbox {
  readonly environmentId: string;
  readonly backend: BackendName;
  /** Backing of /tmp, for the start-up message ("ext4 loop image", "tmpfs"). */
  readonly tmpKind: string;
  /**
   * Registers the callback for an exit of the runtime process, whatever the
   * cause. Called once per runtime process (again after a reset).
   */
  onRuntimeExit(callback: (exit: RuntimeExit) => void): void;
  /** Registers the callback for the runtime's stdout and stderr output. */
  onOutput(callback: (chunk: Buffer, stream: "stdout" | "stderr") => void): void;
  /** Stops every process so timers and pending promises do not run. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Samples resources from outside. */
  measure(): Promise<ResourceSample>;
  /**
   * Reset after a timeout or crash: kill the runtime process tree and start
   * it again in the same sandbox, keeping /tmp.
   */
  resetRuntime(): Promise<void>;
  /**
   * Shutdown: SIGTERM, then SIGKILL after `graceMs`, then release every
   * resource (mounts, loop devices, cgroups, files, containers).
   */
  stop(graceMs: number): Promise<void>;
}

/** A kind of sandbox. */
export interface SandboxBackend {
  readonly name: BackendName;
  /** Starts the sandbox and its runtime process; resolves once the process is spawned. */
  start(spec: SandboxSpec): Promise<Sandbox>;
  /** Removes what an earlier, killed simulator left behind. */
  removeOrphans(): Promise<void>;
  /** Stops every sandbox this backend started. */
  close(): Promise<void>;
}
