/**
 * One docker sandbox: a container that runs one execution environment's
 * runtime process, with /tmp prepared by the backend. The container's main
 * process is the runtime (under docker's init), so a runtime exit stops the
 * container and a reset starts it again with the same /tmp.
 */
import { constants as osConstants } from "node:os";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import type { Logger } from "../logger.ts";
import type { ResourceSample, RuntimeExit, Sandbox, SandboxSpec } from "./backend.ts";
import {
  type ContainerCgroup,
  emptySample,
  findContainerCgroup,
  listCgroupPids,
  measureTmp,
  readCgroupMemory,
  sampleProcesses,
  setCgroupFrozen,
} from "./docker-host-probe.ts";
import { type LoopTmp, removeLoopTmp } from "./docker-tmp.ts";
import { TmpFileGrouping } from "./tmp-listing.ts";

/** Mechanism that stops a docker sandbox's processes between invocations. */
export type DockerFreezeMethod = "pause" | "cgroup";

/** Backing of a docker sandbox's /tmp. */
export type DockerTmp = { kind: "loop"; loop: LoopTmp } | { kind: "tmpfs" };

/** Inputs of a docker sandbox from its backend: the container to create and how to run it. */
export interface DockerSandboxInit {
  docker: Dockerode;
  spec: SandboxSpec;
  logger: Logger;
  createOptions: Dockerode.ContainerCreateOptions;
  tmp: DockerTmp;
  /** `cgroup` falls back to `pause` when the container's cgroup is not visible from here. */
  freezeMethod: DockerFreezeMethod;
  /** Called once the container and its /tmp are gone. */
  onRemoved: () => void;
}

type OutputCallback = (chunk: Buffer, stream: "stdout" | "stderr") => void;
type ExitCallback = (exit: RuntimeExit) => void;

const SIGNAL_BY_NUMBER = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** A running docker sandbox; create it with {@link DockerSandbox.start}. */
export class DockerSandbox implements Sandbox {
  readonly environmentId: string;
  readonly backend = "docker" as const;
  readonly tmpKind: string;

  #init: DockerSandboxInit;
  #container: Dockerode.Container;
  #logger: Logger;
  #outputCallbacks: OutputCallback[] = [];
  #pendingOutput: Array<[Buffer, "stdout" | "stderr"]> = [];
  #exitCallbacks: ExitCallback[] = [];
  #pendingExits: RuntimeExit[] = [];
  /** Resolves when the current runtime process has exited and its exit was reported. */
  #exited: Promise<RuntimeExit> = Promise.resolve({
    exitCode: null,
    signal: null,
    outOfMemory: false,
  });
  #running = false;
  #frozen = false;
  #stopped = false;
  #initPid = 0;
  #cgroup: ContainerCgroup | undefined;
  #peakResidentBytes = 0;

  private constructor(init: DockerSandboxInit, container: Dockerode.Container) {
    this.#init = init;
    this.#container = container;
    this.environmentId = init.spec.environmentId;
    this.#logger = init.logger.child({
      environmentId: init.spec.environmentId,
      containerId: container.id,
    });
    this.tmpKind = init.tmp.kind === "loop" ? "ext4 loop image" : "tmpfs";
  }

  /** Creates the container, starts its runtime process and resolves once it runs. */
  static async start(init: DockerSandboxInit): Promise<DockerSandbox> {
    const container = await init.docker.createContainer(init.createOptions);
    const sandbox = new DockerSandbox(init, container);
    try {
      await sandbox.#startRuntime();
    } catch (error) {
      await sandbox.#remove().catch(() => undefined);
      throw error;
    }
    return sandbox;
  }

  /** Id of the container. */
  get containerId(): string {
    return this.#container.id;
  }

  onRuntimeExit(callback: ExitCallback): void {
    this.#exitCallbacks.push(callback);
    for (const exit of this.#pendingExits.splice(0)) callback(exit);
  }

  onOutput(callback: OutputCallback): void {
    this.#outputCallbacks.push(callback);
    for (const [chunk, stream] of this.#pendingOutput.splice(0)) callback(chunk, stream);
  }

  async freeze(): Promise<void> {
    if (this.#frozen || !this.#running) return;
    if (this.#init.freezeMethod === "cgroup" && this.#cgroup) {
      await setCgroupFrozen(this.#cgroup, true);
    } else {
      await this.#pause();
    }
    this.#frozen = true;
  }

  async thaw(): Promise<void> {
    if (!this.#frozen) return;
    if (this.#init.freezeMethod === "cgroup" && this.#cgroup) {
      await setCgroupFrozen(this.#cgroup, false);
    } else {
      await this.#unpause();
    }
    this.#frozen = false;
  }

  async measure(): Promise<ResourceSample> {
    const sample = emptySample();
    const grouping = new TmpFileGrouping();
    if (this.#running && this.#cgroup) {
      const pids = (await listCgroupPids(this.#cgroup).catch(() => [])).filter(
        (pid) => pid !== this.#initPid,
      );
      const processes = await sampleProcesses(pids, grouping);
      const memory = await readCgroupMemory(this.#cgroup).catch(() => undefined);
      Object.assign(sample, processes);
      // The memory cgroup's peak also counts page cache, so it overstates the peak. The
      // processes' own high-water marks come closer to Lambda's "Max Memory Used".
      this.#peakResidentBytes = Math.max(
        this.#peakResidentBytes,
        processes.peakResidentBytes,
        processes.residentBytes,
      );
      sample.peakResidentBytes = this.#peakResidentBytes;
      if (memory && sample.residentBytes === 0) sample.residentBytes = memory.currentBytes;
    } else if (this.#running) {
      await this.#measureThroughEngine(sample);
    }

    const tmp = await this.#measureTmp(grouping);
    sample.tmpBytes = tmp.usedBytes;
    sample.tmpFiles = tmp.files;
    sample.tmpFileGroups = grouping.groups();
    return sample;
  }

  async resetRuntime(): Promise<void> {
    if (this.#stopped)
      throw new Error(
        `Sandbox ${this.environmentId} was stopped; start a new one instead of resetting it.`,
      );

    if (this.#running) {
      await this.thaw();
      await this.#container
        .kill({ signal: "SIGKILL" })
        .catch((error: unknown) => this.#ignoreNotRunning(error));
      await this.#exited;
    }
    await this.#startRuntime();
    this.#logger.debug("runtime reset, /tmp kept");
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;

    if (this.#running) {
      await this.thaw().catch((error: unknown) =>
        this.#logger.warn({ err: error }, "thawing before stop failed"),
      );
      await this.#container
        .kill({ signal: "SIGTERM" })
        .catch((error: unknown) => this.#ignoreNotRunning(error));
      const timer = new Promise<"timeout">((resolve) =>
        setTimeout(() => resolve("timeout"), graceMs).unref(),
      );
      if ((await Promise.race([this.#exited, timer])) === "timeout") {
        await this.#container
          .kill({ signal: "SIGKILL" })
          .catch((error: unknown) => this.#ignoreNotRunning(error));
      }
      await this.#exited;
    }
    await this.#remove();
  }

  // Pause and unpause through the engine. Two races show up when they alternate quickly
  // (engine 20.10, runc 1.1, cgroup v1). First, runc returns "unable to freeze" while a task
  // is busy in the kernel. Second, the engine updates its paused flag only when containerd's
  // event arrives, so it may return "already paused" or "is not paused" from a stale flag.
  // Both settle within milliseconds, so retry after checking the engine's view.
  async #pause(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#container.pause();
        return;
      } catch (error) {
        const message = String((error as Error).message);
        if (/already paused/.test(message) && (await this.#isPaused())) return;
        if (!/unable to freeze|already paused/.test(message) || attempt >= 5) throw error;
        this.#logger.debug({ attempt, message }, "docker pause raced, trying again");
        await sleep(5 * attempt);
      }
    }
  }

  async #unpause(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#container.unpause();
        return;
      } catch (error) {
        const message = String((error as Error).message);
        if (!/is not paused/.test(message)) throw error;
        if (!(await this.#isPaused())) return;
        if (attempt >= 5) throw error;
        await sleep(5 * attempt);
      }
    }
  }

  async #isPaused(): Promise<boolean> {
    return (await this.#container.inspect()).State.Paused === true;
  }

  // Attaches to the output before starting the container, so no output is missed.
  async #startRuntime(): Promise<void> {
    const stream = await this.#container.attach({ stream: true, stdout: true, stderr: true });
    this.#init.docker.modem.demuxStream(
      stream,
      this.#outputSink("stdout"),
      this.#outputSink("stderr"),
    );
    await this.#container.start();
    // Armed after start: "not-running" returns at once for a runtime that already exited,
    // where "next-exit" armed before start could miss an exit that beats the request.
    const waited = this.#container.wait({ condition: "not-running" });
    this.#running = true;
    this.#frozen = false;
    const inspected = await this.#container.inspect();
    this.#initPid = inspected.State.Pid;
    this.#cgroup = await findContainerCgroup(this.#initPid);
    this.#exited = waited.then(
      (result: { StatusCode: number }) => this.#reportExit(result.StatusCode),
      (error: unknown) => {
        this.#logger.warn({ err: error }, "waiting for the container to exit failed");
        return this.#reportExit(-1);
      },
    );
  }

  async #reportExit(statusCode: number): Promise<RuntimeExit> {
    let outOfMemory = false;
    try {
      outOfMemory = (await this.#container.inspect()).State.OOMKilled === true;
    } catch (error) {
      this.#logger.warn({ err: error }, "inspecting the exited container failed");
    }
    this.#running = false;
    this.#frozen = false;

    // docker's init exits with 128 + N when signal N ended the runtime.
    const signal = statusCode > 128 ? SIGNAL_BY_NUMBER.get(statusCode - 128) : undefined;
    const exit: RuntimeExit = signal
      ? { exitCode: null, signal, outOfMemory }
      : { exitCode: statusCode, signal: null, outOfMemory };
    this.#logger.debug({ exit }, "runtime exited");

    if (this.#exitCallbacks.length === 0) this.#pendingExits.push(exit);
    for (const callback of this.#exitCallbacks) callback(exit);
    return exit;
  }

  #outputSink(name: "stdout" | "stderr"): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (this.#outputCallbacks.length === 0) this.#pendingOutput.push([chunk, name]);
        for (const callback of this.#outputCallbacks) callback(chunk, name);
        done();
      },
    });
  }

  async #measureTmp(grouping: TmpFileGrouping): Promise<{ usedBytes: number; files: number }> {
    const { tmp } = this.#init;
    if (tmp.kind === "loop") {
      return measureTmp(tmp.loop.mountPoint, tmp.loop.baselineUsedBytes, grouping);
    }
    if (this.#running && this.#cgroup) {
      // A tmpfs /tmp is only reachable through a process of the container.
      const pids = await listCgroupPids(this.#cgroup).catch(() => []);
      const pid = pids.find((candidate) => candidate !== this.#initPid) ?? this.#initPid;
      return measureTmp(`/proc/${pid}/root/tmp`, 0, grouping).catch(() => ({
        usedBytes: 0,
        files: 0,
      }));
    }
    return { usedBytes: 0, files: 0 };
  }

  // Without access to the host's /proc (a remote engine), the engine's stats are all there is.
  async #measureThroughEngine(sample: ResourceSample): Promise<void> {
    const stats = (await this.#container.stats({ stream: false }).catch(() => undefined)) as
      | { memory_stats?: { usage?: number; max_usage?: number }; pids_stats?: { current?: number } }
      | undefined;
    if (!stats) return;
    sample.residentBytes = stats.memory_stats?.usage ?? 0;
    this.#peakResidentBytes = Math.max(
      this.#peakResidentBytes,
      stats.memory_stats?.max_usage ?? sample.residentBytes,
    );
    sample.peakResidentBytes = this.#peakResidentBytes;
    sample.processCount = Math.max(0, (stats.pids_stats?.current ?? 1) - 1);
    // TODO(sandbox): descriptors of a container on a remote engine are not visible; Lambda has no such gap.
  }

  async #remove(): Promise<void> {
    await this.#container.remove({ force: true, v: true }).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    });
    if (this.#init.tmp.kind === "loop") await removeLoopTmp(this.#init.tmp.loop.folder);
    this.#running = false;
    this.#init.onRemoved();
  }

  #ignoreNotRunning(error: unknown): void {
    // 409: the container already stopped; 404: it is gone. Both mean there is nothing to signal.
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 409 && status !== 404) throw error;
  }
}
