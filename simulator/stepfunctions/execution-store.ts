/**
 * Disk persistence under `<dataDir>/stepfunctions`: state machines in
 * `state-machines.json`, each execution's record in `executions/<id>.json`
 * and its history in `executions/<id>.events.ndjson`, appended as events
 * happen, one line per batch of events (a JSON array), and each Map Run's
 * record in `map-runs/<id>.json`.
 */
import { createHash } from "node:crypto";
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { ExecutionStatus } from "./execution-status.ts";
import type { HistoryEvent } from "./history.ts";
import type { RestartPoint } from "./interpreter/engine.ts";
import type { MapRunRecord } from "./map-run-registry.ts";

/** A state machine as stored and described. */
export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  type: "STANDARD" | "EXPRESS";
  definition: string;
  roleArn: string;
  creationDate: number;
  updateDate?: number;
  revisionId: string;
  loggingConfiguration?: unknown;
  tracingConfiguration?: unknown;
  tags: { key: string; value: string }[];
}

/** An execution as stored and described. Dates are epoch milliseconds. */
export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  type: "STANDARD" | "EXPRESS";
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveDate?: number;
  /** The definition the execution runs, kept so a redrive uses the same one. */
  definition: string;
  roleArn: string;
  /** Restart point of a redrive, set when the execution failed. */
  restartPoint?: RestartPoint;
  /** Outputs of Map iterations and branches that succeeded, reused by a redrive. */
  memo?: [string, unknown][];
  /** Reason the execution cannot be redriven, when it cannot. */
  notRedrivableReason?: string;
  /** The Map Run that started this child execution, for child executions of a Distributed Map. */
  mapRunArn?: string;
  /** Index of the child execution's item (or batch) among the Map Run's items. */
  mapRunIndex?: number;
  /** Number of items the child execution processes: 1, or the size of its ItemBatcher batch. */
  itemCount?: number;
}

export class ExecutionStore {
  readonly #root: string;
  readonly #executionsDir: string;
  readonly #mapRunsDir: string;
  readonly #logger: Logger;
  readonly #pendingEvents = new Map<string, HistoryEvent[]>();
  readonly #handles = new Map<string, FileHandle>();
  #flushScheduled = false;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string, logger: Logger) {
    this.#root = path.join(dataDir, "stepfunctions");
    this.#executionsDir = path.join(this.#root, "executions");
    this.#mapRunsDir = path.join(this.#root, "map-runs");
    this.#logger = logger;
  }

  /** Creates the folders and loads what a previous run stored. */
  async load(): Promise<{
    stateMachines: StateMachineRecord[];
    executions: ExecutionRecord[];
    mapRuns: MapRunRecord[];
  }> {
    await mkdir(this.#executionsDir, { recursive: true });
    await mkdir(this.#mapRunsDir, { recursive: true });
    let stateMachines: StateMachineRecord[] = [];
    try {
      stateMachines = JSON.parse(
        await readFile(path.join(this.#root, "state-machines.json"), "utf8"),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT")
        this.#logger.warn({ err: error }, "state machines file unreadable");
    }
    const executions: ExecutionRecord[] = [];
    for (const file of await readdir(this.#executionsDir)) {
      if (!file.endsWith(".json")) continue;
      try {
        executions.push(JSON.parse(await readFile(path.join(this.#executionsDir, file), "utf8")));
      } catch (error) {
        this.#logger.warn({ err: error, file }, "execution record unreadable");
      }
    }
    const mapRuns: MapRunRecord[] = [];
    for (const file of await readdir(this.#mapRunsDir)) {
      if (!file.endsWith(".json")) continue;
      try {
        mapRuns.push(JSON.parse(await readFile(path.join(this.#mapRunsDir, file), "utf8")));
      } catch (error) {
        this.#logger.warn({ err: error, file }, "map run record unreadable");
      }
    }
    return { stateMachines, executions, mapRuns };
  }

  saveMapRun(record: MapRunRecord): Promise<void> {
    const text = JSON.stringify(record);
    const file = path.join(this.#mapRunsDir, `${this.#fileId(record.mapRunArn)}.json`);
    return this.#serialize(() => atomicWrite(file, text));
  }

  saveStateMachines(records: StateMachineRecord[]): Promise<void> {
    return this.#serialize(() =>
      atomicWrite(path.join(this.#root, "state-machines.json"), JSON.stringify(records)),
    );
  }

  saveExecution(record: ExecutionRecord): Promise<void> {
    const text = JSON.stringify(record);
    return this.#serialize(() => atomicWrite(this.#recordPath(record.executionArn), text));
  }

  /**
   * Queues one event. Queued events are appended together on the next turn
   * of the event loop, as one line holding a JSON array of events, because
   * one JSON.stringify of a batch costs half as much as one per event.
   */
  appendEvent(executionArn: string, event: HistoryEvent): void {
    let batch = this.#pendingEvents.get(executionArn);
    if (!batch) {
      batch = [];
      this.#pendingEvents.set(executionArn, batch);
    }
    batch.push(event);
    if (!this.#flushScheduled) {
      // Events queued during one turn of the event loop are appended together.
      // No timer is involved, because simulated time belongs to the Clock alone.
      this.#flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Writes every queued event and waits for all writes so far. */
  flush(): Promise<void> {
    this.#flushScheduled = false;
    const batches = [...this.#pendingEvents.entries()];
    this.#pendingEvents.clear();
    for (const [arn, events] of batches) {
      const line = `${JSON.stringify(events)}\n`;
      void this.#serialize(async () => {
        const handle = await this.#historyHandle(arn);
        await handle.write(line);
      });
    }
    return this.#serialize(async () => {});
  }

  /** Closes the history file of an execution that ended; a redrive reopens it. */
  closeHistory(executionArn: string): Promise<void> {
    return this.#serialize(async () => {
      const handle = this.#handles.get(executionArn);
      this.#handles.delete(executionArn);
      await handle?.close();
    });
  }

  /** Closes every open history file. */
  async closeAll(): Promise<void> {
    await this.flush();
    for (const executionArn of [...this.#handles.keys()]) await this.closeHistory(executionArn);
  }

  // Running executions keep their history file open, so each batch is one
  // write instead of an open, a write and a close.
  async #historyHandle(executionArn: string): Promise<FileHandle> {
    let handle = this.#handles.get(executionArn);
    if (!handle) {
      handle = await open(this.#historyPath(executionArn), "a");
      this.#handles.set(executionArn, handle);
    }
    return handle;
  }

  async readHistory(executionArn: string): Promise<HistoryEvent[]> {
    await this.flush();
    let text: string;
    try {
      text = await readFile(this.#historyPath(executionArn), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const events: HistoryEvent[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const parsed = JSON.parse(line) as HistoryEvent | HistoryEvent[];
      if (!Array.isArray(parsed)) events.push(parsed);
      else for (const event of parsed) events.push(event);
    }
    return events;
  }

  // Writes run one at a time, so appends land in order and a record is
  // never written while an older version of it is still being written.
  #serialize<T>(write: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(write, write);
    this.#writes = next.catch((error) =>
      this.#logger.error({ err: error }, "step functions data write failed"),
    );
    return next;
  }

  #fileId(executionArn: string): string {
    return createHash("sha1").update(executionArn).digest("hex");
  }

  #recordPath(executionArn: string): string {
    return path.join(this.#executionsDir, `${this.#fileId(executionArn)}.json`);
  }

  #historyPath(executionArn: string): string {
    return path.join(this.#executionsDir, `${this.#fileId(executionArn)}.events.ndjson`);
  }
}

async function atomicWrite(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}
