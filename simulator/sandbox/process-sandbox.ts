import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.ts";
import type { ResourceSample, RuntimeExit, Sandbox, SandboxSpec } from "./backend.ts";
import { killCgroupMembers, SandboxCgroups } from "./cgroup-v1.ts";
import { KeptFile } from "./kept-file.ts";
import { buildLaunchCommand, type TmpMount } from "./launch-command.ts";
import { MemoryWatchdog } from "./memory-watchdog.ts";
import { type NamespaceHolder, startNamespaceHolder } from "./namespace-holder.ts";
import { sampleDescriptorsAndTmp } from "./probes.ts";
import type { ProcessMechanisms } from "./process-mechanisms.ts";
import {
  isRunning,
  listNamespaceOrphans,
  listProcessTree,
  PAGE_BYTES,
  pollPause,
  processState,
  rssBytesOf,
  signalProcesses,
  signalUntilNoNewProcess,
  stopProcessTree,
  taskCountOf,
} from "./process-tree.ts";
import type { SpareTmpImages } from "./spare-tmp-images.ts";
import { detachLoopDevice } from "./tmp-image.ts";

/** Everything a process sandbox needs besides the spec. */
export interface ProcessSandboxOptions {
  spec: SandboxSpec;
  mechanisms: ProcessMechanisms;
  logger: Logger;
  /** Folder of this sandbox, removed at stop. */
  folder: string;
  /** Name of this sandbox's cgroups (`env-<environmentId>`). */
  cgroupName: string;
  /** Uid and gid of the runtime when running as root. */
  uid: number;
  /** Runtime program and arguments, absolute paths. */
  command: string[];
  env: Record<string, string>;
  /** Source of formatted /tmp images when /tmp is an ext4 loop image. */
  spareImages: SpareTmpImages | null;
  /** Called once the sandbox released everything at stop. */
  onStopped: () => void;
}

// Output produced before anyone listens is kept up to this many bytes.
const EARLY_OUTPUT_MAX_BYTES = 1024 * 1024;
// How long a runtime's exit waits for the last output still in its pipes.
const OUTPUT_DRAIN_MS = 100;

/**
 * One execution environment's sandbox on the process backend: a mount
 * namespace with a private /tmp, cgroups or a watchdog for memory, and one
 * runtime process at a time.
 */
export class ProcessSandbox implements Sandbox {
  readonly backend = "process" as const;
  readonly environmentId: string;
  readonly tmpKind: string;

  readonly #options: ProcessSandboxOptions;
  readonly #log: Logger;
  readonly #cgroups: SandboxCgroups | null;
  readonly #watchdog: MemoryWatchdog | null;
  #tmp: TmpMount | null = null;
  #holder: NamespaceHolder | null = null;
  #runtime: ChildProcess | null = null;
  #runtimeExited: Promise<void> = Promise.resolve();
  #oomKillsAtStart = 0;
  #killedByWatchdog = false;
  #frozen = false;
  /** Processes the last freeze stopped with SIGSTOP. */
  #stoppedPids: number[] = [];
  /** /proc/PID/stat of the current runtime, kept open for probes. */
  #runtimeStat: { pid: number; file: KeptFile } | undefined;
  /** Runtime pid last seen inside the cgroups. */
  #joinedPid: number | undefined;
  /** Spawned nsenter pid last seen with its runtime child forked. */
  #forkedPid: number | undefined;
  #stopped = false;
  #exitCallbacks: ((exit: RuntimeExit) => void)[] = [];
  #undeliveredExits: RuntimeExit[] = [];
  #outputCallbacks: ((chunk: Buffer, stream: "stdout" | "stderr") => void)[] = [];
  #earlyOutput: { chunk: Buffer; stream: "stdout" | "stderr" }[] = [];
  #earlyOutputBytes = 0;

  private constructor(options: ProcessSandboxOptions) {
    this.#options = options;
    this.environmentId = options.spec.environmentId;
    this.tmpKind = options.mechanisms.tmpKind;
    this.#log = options.logger.child({ environmentId: options.spec.environmentId });

    const { cgroupRoots } = options.mechanisms;
    this.#cgroups =
      Object.keys(cgroupRoots).length > 0
        ? new SandboxCgroups(cgroupRoots, options.cgroupName, (message) => this.#log.warn(message))
        : null;
    this.#watchdog =
      options.mechanisms.memoryEnforcement === "watchdog"
        ? new MemoryWatchdog({
            limitBytes: options.spec.memoryMb * 1024 * 1024,
            // NOTE: the runtime's process tree, so processes that detached
            // into the holder's pid namespace do not count toward the limit.
            listPids: () => this.#listPids(),
            onExceeded: (residentBytes) => this.#killForMemory(residentBytes),
          })
        : null;
  }

  /** Sets up /tmp and cgroups, then spawns the first runtime process. */
  static async start(options: ProcessSandboxOptions): Promise<ProcessSandbox> {
    const sandbox = new ProcessSandbox(options);
    try {
      await sandbox.#prepare();
      sandbox.#launch();
    } catch (error) {
      await sandbox.#release();
      throw error;
    }
    return sandbox;
  }

  onRuntimeExit(callback: (exit: RuntimeExit) => void): void {
    this.#exitCallbacks.push(callback);
    for (const exit of this.#undeliveredExits.splice(0)) callback(exit);
  }

  onOutput(callback: (chunk: Buffer, stream: "stdout" | "stderr") => void): void {
    this.#outputCallbacks.push(callback);
    for (const { chunk, stream } of this.#earlyOutput.splice(0)) callback(chunk, stream);
    this.#earlyOutputBytes = 0;
  }

  /** Pid of the current runtime process, or null while none runs. */
  get runtimePid(): number | null {
    return this.#runtime?.pid ?? null;
  }

  /** Pids of every process of the runtime. */
  listPids(): number[] {
    return this.#listPids();
  }

  async freeze(): Promise<void> {
    if (this.#frozen || this.#stopped) return;
    this.#watchdog?.stop();

    if (this.#options.mechanisms.freezing === "cgroup freezer" && this.#cgroups) {
      await this.#waitUntilRuntimeJoinedCgroups();
      await this.#cgroups.freeze();
    } else {
      await this.#waitUntilNsenterForked();
      await this.#waitUntilNsenterWaits();
      // A process runs none of its own code once SIGSTOP is queued, so the
      // freeze does not wait for each stop (that cost a millisecond). The thaw
      // waits for nsenter's stop.
      this.#stoppedPids = signalUntilNoNewProcess(() => this.#signalTargets(), "SIGSTOP");
    }
    this.#frozen = true;
  }

  async thaw(): Promise<void> {
    if (!this.#frozen) return;

    if (this.#options.mechanisms.freezing === "cgroup freezer" && this.#cgroups) {
      await this.#cgroups.thaw();
    } else {
      await this.#waitUntilNsenterStopped();
      // Nothing forks while stopped, so the pids stopped are all there is to continue.
      const spawnedPid = this.#runtime?.pid;
      signalProcesses(
        spawnedPid ? [...this.#stoppedPids, spawnedPid] : this.#stoppedPids,
        "SIGCONT",
      );
      this.#stoppedPids = [];
    }
    this.#frozen = false;
    if (this.#runtime) this.#watchdog?.start({ resetPeak: false });
  }

  async measure(): Promise<ResourceSample> {
    const alone = this.#runtimeAlone();
    const pids = alone ? [alone.pid] : this.#listPids();
    const sample = sampleDescriptorsAndTmp(pids);
    const residentBytes = alone ? alone.residentBytes : rssBytesOf(pids);
    this.#watchdog?.observe(residentBytes);
    // The cgroup's peak is the charge the limit compares against, so it
    // includes the page cache of /tmp files.
    const peakBytes =
      this.#cgroups?.peakMemoryBytes() ?? this.#watchdog?.peakBytes ?? residentBytes;
    return {
      ...sample,
      residentBytes,
      peakResidentBytes: Math.max(peakBytes, residentBytes),
      processCount: alone?.tasks ?? this.#cgroups?.taskCount() ?? taskCountOf(pids),
    };
  }

  async resetRuntime(): Promise<void> {
    if (this.#stopped)
      throw new Error(
        `Cannot reset sandbox ${this.environmentId}: it was stopped. Start a new sandbox instead.`,
      );

    await this.#killAll();
    this.#frozen = false;
    this.#launch();
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watchdog?.stop();

    await this.thaw();
    signalProcesses(this.#signalTargets(), "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (this.#listAllPids().length > 0 && Date.now() < deadline) await sleep(10);

    try {
      await this.#killAll();
      await this.#release();
    } finally {
      this.#options.onStopped();
    }
    this.#log.debug({ graceMs }, "sandbox stopped");
  }

  async #prepare(): Promise<void> {
    const { spec, mechanisms, folder } = this.#options;
    this.#cgroups?.create({ memoryBytes: spec.memoryMb * 1024 * 1024, maxTasks: spec.nproc });

    if (mechanisms.tmpKind === "ext4 loop image") {
      const image = `${folder}/tmp.img`;
      const spareImages = this.#options.spareImages as SpareTmpImages;
      this.#tmp = { kind: "loop", device: await spareImages.take(spec.ephemeralStorageMb, image) };
      return;
    }

    // A tmpfs lives as long as its mount namespace, so a holder process keeps
    // the namespace (and /tmp) across runtime resets.
    this.#tmp = { kind: "tmpfs", sizeMb: spec.ephemeralStorageMb };
    this.#holder = await startNamespaceHolder({
      mechanisms,
      sizeMb: spec.ephemeralStorageMb,
      codeDir: spec.codeDir,
      namespaceOwnerUid: this.#namespaceOwnerUid(),
    });
  }

  #launch(): void {
    const { spec, mechanisms, command, env, uid } = this.#options;
    const launch = buildLaunchCommand({
      mechanisms,
      procsFiles: this.#cgroups?.procsFiles() ?? [],
      tmp: this.#tmp as TmpMount,
      codeDir: spec.codeDir,
      uid: mechanisms.sandboxUser === "uid per sandbox" ? uid : null,
      nofile: spec.nofile,
      nproc: spec.nproc,
      command,
      holderPid: this.#holder?.pid ?? null,
      namespaceOwnerUid: this.#namespaceOwnerUid(),
    });

    this.#oomKillsAtStart = this.#cgroups?.oomKillCount() ?? 0;
    this.#killedByWatchdog = false;
    this.#cgroups?.resetPeak();

    // A process group of its own: a Ctrl-C in the simulator's terminal goes to
    // the simulator, which then stops the sandbox, not to the function.
    const runtime = spawn(launch.file, launch.args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.#runtime = runtime;
    runtime.stdout?.on("data", (chunk: Buffer) => this.#emitOutput(chunk, "stdout"));
    runtime.stderr?.on("data", (chunk: Buffer) => this.#emitOutput(chunk, "stderr"));

    this.#runtimeExited = new Promise((resolve) => {
      // Without a spawned process there is no exit event to wait for.
      runtime.once("error", (error) => {
        this.#log.error({ err: error, file: launch.file }, "runtime process failed to spawn");
        if (runtime.pid !== undefined) return;
        // No exit event follows a failed spawn: report it as a shell reports
        // a command it cannot run.
        void this.#handleExit(runtime, 127, null).finally(resolve);
      });
      runtime.once("exit", (exitCode, signal) => {
        void this.#handleExit(runtime, exitCode, signal).finally(resolve);
      });
    });
    this.#watchdog?.start({ resetPeak: true });
    this.#log.debug({ pid: runtime.pid }, "runtime process spawned");
  }

  async #handleExit(
    runtime: ChildProcess,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> {
    const oomKills = this.#cgroups?.oomKillCount() ?? 0;
    const outOfMemory =
      signal === "SIGKILL" && (this.#killedByWatchdog || oomKills > this.#oomKillsAtStart);
    if (this.#runtime === runtime) {
      this.#runtime = null;
      this.#watchdog?.stop();
    }

    // Let the last lines the runtime wrote reach the output callbacks first.
    if (runtime.stdout && !runtime.stdout.readableEnded) {
      await Promise.race([once(runtime.stdout, "close"), sleep(OUTPUT_DRAIN_MS)]);
    }

    const exit: RuntimeExit = { exitCode, signal, outOfMemory };
    this.#log.debug({ ...exit }, "runtime process exited");
    if (this.#exitCallbacks.length === 0) this.#undeliveredExits.push(exit);
    for (const callback of this.#exitCallbacks) callback(exit);
  }

  #emitOutput(chunk: Buffer, stream: "stdout" | "stderr"): void {
    if (this.#outputCallbacks.length > 0) {
      for (const callback of this.#outputCallbacks) callback(chunk, stream);
      return;
    }
    if (this.#earlyOutputBytes + chunk.length > EARLY_OUTPUT_MAX_BYTES) return;
    this.#earlyOutput.push({ chunk, stream });
    this.#earlyOutputBytes += chunk.length;
  }

  #killForMemory(residentBytes: number): void {
    this.#log.debug(
      { residentBytes, memoryMb: this.#options.spec.memoryMb },
      "memory limit exceeded",
    );
    this.#killedByWatchdog = true;
    signalProcesses(this.#signalTargets(), "SIGKILL");
  }

  // When the pids cgroup counts exactly the runtime's threads, the runtime is
  // the sandbox's only process. Its kept /proc stat line then replaces the
  // reads of cgroup.procs and statm, which cost a third of a probe.
  #runtimeAlone(): { pid: number; residentBytes: number; tasks: number } | null {
    const pid = this.#runtime?.pid;
    const tasks = this.#cgroups?.taskCount() ?? null;
    if (!pid || tasks === null || this.#holder || this.#stopped) return null;
    if (this.#runtimeStat?.pid !== pid) {
      this.#runtimeStat?.file.close();
      this.#runtimeStat = { pid, file: new KeptFile(`/proc/${pid}/stat`, "r") };
    }

    let fields: string[];
    try {
      const text = this.#runtimeStat.file.read();
      fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    } catch {
      return null;
    }
    // Fields after the command name start at field 3 (state), so field N is
    // at index N - 3: num_threads is field 20 and rss (pages) field 24 (proc(5)).
    if (Number(fields[17]) !== tasks) return null;
    return { pid, residentBytes: Number(fields[21]) * PAGE_BYTES, tasks };
  }

  // A runtime spawned a moment ago may still be in its launch script, outside
  // the freezer cgroup, and would keep running after the freeze.
  // Reading cgroup.procs costs about as much as the freeze itself, so it is
  // read only until the runtime has been seen in the cgroup once.
  async #waitUntilRuntimeJoinedCgroups(): Promise<void> {
    const pid = this.#runtime?.pid;
    if (!pid || this.#joinedPid === pid) return;
    for (let attempt = 0; attempt < 200; attempt++) {
      if (this.#listPids().includes(pid)) {
        this.#joinedPid = pid;
        return;
      }
      if (this.#runtime?.pid !== pid) return;
      await sleep(5);
    }
  }

  // Root running with a user namespace (the fallback forced for tests) hands
  // the namespace to the sandbox's uid, as a non-root simulator would own it.
  #namespaceOwnerUid(): number | null {
    const inUserNamespace = this.#options.mechanisms.isolation === "user and mount namespace";
    return inUserNamespace && process.getuid?.() === 0 ? this.#options.uid : null;
  }

  // Every process of the runtime, holder excluded. Without cgroups this is
  // the runtime's process tree, which misses processes that detached.
  #listPids(): number[] {
    const tracked = this.#cgroups?.listPids();
    if (tracked) return tracked;
    return this.#runtime?.pid ? listProcessTree(this.#runtime.pid) : [];
  }

  // Like #listPids, plus the runtime's own pid, which a freshly spawned
  // runtime has before its launch script joined the cgroups, plus the
  // detached processes still in the holder's pid namespace. Slower, so used
  // to freeze and kill rather than to measure.
  #listAllPids(): number[] {
    const pids = new Set(this.#listPids());
    if (this.#runtime?.pid) pids.add(this.#runtime.pid);
    if (!this.#cgroups && this.#holder) {
      for (const pid of listNamespaceOrphans(this.#holder.pid)) pids.add(pid);
    }
    return [...pids];
  }

  // Processes to signal. In the holder's pid namespace the spawned process is
  // nsenter, which waits for the runtime and then exits the same way.
  // Signalling nsenter itself would hand the runtime to the host's init,
  // which may reap it late and so delay the namespace's end.
  #signalTargets(): number[] {
    const pids = this.#listAllPids();
    const spawnedPid = this.#runtime?.pid;
    if (!this.#holder || !spawnedPid) return pids;
    return pids.filter((pid) => pid !== spawnedPid);
  }

  // Right after a spawn nsenter may not have forked the runtime yet, and a
  // runtime forked after the freeze would run.
  async #waitUntilNsenterForked(): Promise<void> {
    const spawnedPid = this.#runtime?.pid;
    if (!this.#holder || !spawnedPid || this.#forkedPid === spawnedPid) return;
    for (let attempt = 0; attempt < 200; attempt++) {
      if (listProcessTree(spawnedPid).length > 1) {
        this.#forkedPid = spawnedPid;
        return;
      }
      if (this.#runtime?.pid !== spawnedPid) return;
      await sleep(5);
    }
  }

  // nsenter stops itself when its child stops, and continues the child once
  // continued. Thaw must find it already stopped, or it would
  // stop itself after the thaw and never reap the runtime.
  // After a thaw, nsenter has yet to run `kill(child, SIGCONT)` and return to
  // waitpid. A freeze before that would be undone by that SIGCONT, so freeze
  // waits until nsenter sleeps in waitpid (state S) or is stopped.
  async #waitUntilNsenterWaits(): Promise<void> {
    const spawnedPid = this.#runtime?.pid;
    if (!this.#holder || !spawnedPid) return;
    const started = performance.now();
    for (let attempt = 0; attempt < 500; attempt++) {
      const state = processState(spawnedPid);
      if (state === null || state !== "R") return;
      await pollPause(started);
    }
  }

  async #waitUntilNsenterStopped(): Promise<void> {
    const spawnedPid = this.#runtime?.pid;
    if (!this.#holder || !spawnedPid) return;

    const started = performance.now();
    for (let attempt = 0; attempt < 500 && isRunning(spawnedPid); attempt++)
      await pollPause(started);
    if (isRunning(spawnedPid)) {
      this.#log.debug({ pid: spawnedPid }, "nsenter did not stop with its child, stopping it");
      signalProcesses([spawnedPid], "SIGSTOP");
    }
  }

  // Lets a stopped nsenter run, so it reaps its killed child and exits.
  #continueNsenter(): void {
    const spawnedPid = this.#runtime?.pid;
    if (this.#holder && spawnedPid) signalProcesses([spawnedPid], "SIGCONT");
  }

  // SIGKILLs every process of the runtime and waits for the runtime's exit.
  async #killAll(): Promise<void> {
    await this.thaw();
    if (this.#cgroups) {
      await killCgroupMembers(this.#cgroups.paths);
    } else {
      // Stop the tree first so no process forks a child that escapes the kill.
      await stopProcessTree(() => this.#signalTargets());
    }

    for (let attempt = 0; ; attempt++) {
      const pids = this.#listAllPids();
      if (pids.length === 0) break;
      if (attempt > 1000) {
        throw new Error(
          `Processes ${pids.join(", ")} of sandbox ${this.environmentId} survived SIGKILL.`,
        );
      }
      // Half a second in, the spawned process too, in case it never forked.
      signalProcesses(attempt < 100 ? this.#signalTargets() : pids, "SIGKILL");
      this.#continueNsenter();
      await sleep(5);
    }
    await this.#runtimeExited;
  }

  // Releases mounts, loop device, cgroups and the folder. Safe to call twice.
  async #release(): Promise<void> {
    const { mechanisms, folder } = this.#options;
    if (this.#holder) await this.#holder.stop();
    this.#holder = null;
    this.#runtimeStat?.file.close();
    this.#runtimeStat = undefined;

    if (this.#tmp?.kind === "loop") await detachLoopDevice(this.#tmp.device, mechanisms.tools);
    this.#tmp = null;

    await this.#cgroups?.remove();
    rmSync(folder, { recursive: true, force: true });
  }
}
