import { EventEmitter } from "node:events";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";
import type { Clock } from "../../clock.ts";
import type { LogEvent, LogSink } from "../types.ts";
import { compileFilterPattern } from "./filter-pattern.ts";

/** A stored log line: the event plus its place in the store. */
export interface StoredLogEvent extends LogEvent {
  /** Position in the store, increasing across all functions; the cursor for followers. */
  sequence: number;
  /** Simulator-clock epoch milliseconds when the store received the line. */
  ingestionTime: number;
}

/** Summary of one log stream, as DescribeLogStreams and the admin API show it. */
export interface LogStreamInfo {
  logStreamName: string;
  environmentId: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes: number;
  /** Lines currently kept in memory (older ones were dropped from the ring). */
  eventCount: number;
}

/** A query over one function's log. */
export interface LogQuery {
  functionName: string;
  logStreamNames?: string[];
  logStreamNamePrefix?: string;
  /** Inclusive, epoch milliseconds. */
  startTime?: number;
  /** Exclusive, epoch milliseconds. */
  endTime?: number;
  /** Only lines stored after this sequence number. */
  afterSequence?: number;
  requestId?: string;
  /** CloudWatch Logs filter pattern (terms, quoted phrases, `?any`, `-exclude`). */
  filterPattern?: string;
  limit?: number;
}

/** Maximum time a log line waits in memory before it is appended to its file. */
const FLUSH_INTERVAL_MS = 50;

/** Options of {@link LogStore}. */
export interface LogStoreOptions {
  clock: Clock;
  /** When set, every line is also appended to `<dataDir>/logs/<function>.log` as JSON. */
  dataDir?: string;
  /** Lines kept in memory per stream; older lines leave the ring. */
  maxEventsPerStream?: number;
  /** Streams kept in memory per function; the least recently written leave first. */
  maxStreamsPerFunction?: number;
}

interface StreamBuffer {
  info: LogStreamInfo;
  events: StoredLogEvent[];
}

/**
 * Every log line of every function, per function and per log stream (one
 * stream per execution environment, as on Lambda). Memory stays bounded: each
 * stream is a ring of its most recent lines, and each function keeps its most
 * recent streams. The full history goes to an append-only file per function.
 * Emits "event" for each stored line, which `--follow` readers use.
 */
export class LogStore extends EventEmitter<{ event: [StoredLogEvent] }> implements LogSink {
  readonly #clock: Clock;
  readonly #folder?: string;
  readonly #maxEvents: number;
  readonly #maxStreams: number;
  #functions = new Map<string, Map<string, StreamBuffer>>();
  #files = new Map<string, WriteStream>();
  #pendingLines = new Map<string, string[]>();
  #flushScheduled: NodeJS.Timeout | undefined;
  #sequence = 0;

  constructor(options: LogStoreOptions) {
    super();
    this.setMaxListeners(0);
    this.#clock = options.clock;
    this.#folder = options.dataDir ? path.join(options.dataDir, "logs") : undefined;
    this.#maxEvents = options.maxEventsPerStream ?? 10_000;
    this.#maxStreams = options.maxStreamsPerFunction ?? 500;
    if (this.#folder) mkdirSync(this.#folder, { recursive: true });
  }

  /** Stores one line. Called by execution environments for everything they print. */
  append(event: LogEvent): void {
    const stored: StoredLogEvent = {
      ...event,
      sequence: ++this.#sequence,
      ingestionTime: this.#clock.now(),
    };
    const stream = this.#stream(event);
    const info = stream.info;
    info.firstEventTimestamp ??= event.timestamp;
    info.lastEventTimestamp = event.timestamp;
    info.lastIngestionTime = stored.ingestionTime;
    info.storedBytes += Buffer.byteLength(event.message);

    stream.events.push(stored);
    // Trim in batches so each append stays O(1) on average.
    if (stream.events.length > this.#maxEvents * 1.25)
      stream.events.splice(0, stream.events.length - this.#maxEvents);
    info.eventCount = Math.min(stream.events.length, this.#maxEvents);

    if (this.#folder) {
      const line = `${JSON.stringify({ timestamp: event.timestamp, logStreamName: event.logStreamName, requestId: event.requestId, message: event.message })}\n`;
      this.#queueLine(event.functionName, line);
    }
    this.emit("event", stored);
  }

  /** Functions that have written at least one line. */
  functionNames(): string[] {
    return [...this.#functions.keys()].sort();
  }

  /** Streams of a function, most recently written first. */
  streams(functionName: string): LogStreamInfo[] {
    const streams = this.#functions.get(functionName);
    if (!streams) return [];
    return [...streams.values()]
      .map((stream) => ({ ...stream.info }))
      .sort((a, b) => (b.lastIngestionTime ?? 0) - (a.lastIngestionTime ?? 0));
  }

  /** Lines matching a query, oldest first, at most `limit` (default 10,000). */
  query(query: LogQuery): StoredLogEvent[] {
    const streams = this.#functions.get(query.functionName);
    if (!streams) return [];
    const matches = query.filterPattern ? compileFilterPattern(query.filterPattern) : undefined;
    const streamNames = query.logStreamNames ? new Set(query.logStreamNames) : undefined;
    const limit = query.limit ?? 10_000;

    const selected: StoredLogEvent[] = [];
    for (const [name, stream] of streams) {
      if (streamNames && !streamNames.has(name)) continue;
      if (query.logStreamNamePrefix && !name.startsWith(query.logStreamNamePrefix)) continue;
      for (const event of stream.events.slice(-this.#maxEvents)) {
        if (query.afterSequence !== undefined && event.sequence <= query.afterSequence) continue;
        if (query.startTime !== undefined && event.timestamp < query.startTime) continue;
        if (query.endTime !== undefined && event.timestamp >= query.endTime) continue;
        if (query.requestId && event.requestId !== query.requestId) continue;
        if (matches && !matches(event.message)) continue;
        selected.push(event);
      }
    }
    selected.sort((a, b) => a.sequence - b.sequence);
    return selected.slice(0, limit);
  }

  /** The sequence number of the newest line, for followers that start at the end. */
  get lastSequence(): number {
    return this.#sequence;
  }

  /** Flushes and closes the log files. */
  async close(): Promise<void> {
    this.#flush();
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map((file) => new Promise<void>((resolve) => file.end(resolve))));
  }

  #stream(event: LogEvent): StreamBuffer {
    let streams = this.#functions.get(event.functionName);
    if (!streams) {
      streams = new Map();
      this.#functions.set(event.functionName, streams);
    }
    let stream = streams.get(event.logStreamName);
    if (stream) return stream;

    stream = {
      info: {
        logStreamName: event.logStreamName,
        environmentId: event.environmentId,
        creationTime: this.#clock.now(),
        storedBytes: 0,
        eventCount: 0,
      },
      events: [],
    };
    if (streams.size >= this.#maxStreams) this.#dropOldestStream(streams);
    streams.set(event.logStreamName, stream);
    return stream;
  }

  #dropOldestStream(streams: Map<string, StreamBuffer>): void {
    let oldest: StreamBuffer | undefined;
    for (const stream of streams.values()) {
      if (!oldest || lastSequenceOf(stream) < lastSequenceOf(oldest)) oldest = stream;
    }
    if (oldest) streams.delete(oldest.info.logStreamName);
  }

  // Lines are written in batches every FLUSH_INTERVAL_MS: a write per line
  // cost more than the rest of a warm invocation's bookkeeping together.
  #queueLine(functionName: string, line: string): void {
    const pending = this.#pendingLines.get(functionName);
    if (pending) pending.push(line);
    else this.#pendingLines.set(functionName, [line]);
    if (!this.#flushScheduled) {
      this.#flushScheduled = setTimeout(() => this.#flush(), FLUSH_INTERVAL_MS);
      this.#flushScheduled.unref();
    }
  }

  #flush(): void {
    clearTimeout(this.#flushScheduled);
    this.#flushScheduled = undefined;
    for (const [functionName, lines] of this.#pendingLines)
      this.#file(functionName)?.write(lines.join(""));
    this.#pendingLines.clear();
  }

  #file(functionName: string): WriteStream | undefined {
    if (!this.#folder) return undefined;
    let file = this.#files.get(functionName);
    if (!file) {
      file = createWriteStream(path.join(this.#folder, `${functionName}.log`), { flags: "a" });
      file.on("error", () => this.#files.delete(functionName));
      this.#files.set(functionName, file);
    }
    return file;
  }
}

function lastSequenceOf(stream: StreamBuffer): number {
  return stream.events.at(-1)?.sequence ?? 0;
}
