/**
 * Arrival models: when documents reach the pipeline, in simulated time.
 * Every model is deterministic for a given seed.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { SeededRandom } from "./random.ts";
import type { ArrivalModel, WorkingHours } from "./scenario-schema.ts";
import { MAX_DOCUMENT_PAGES } from "./scenario-schema.ts";

/** A document whose size a trace fixes. */
export interface TracedDocument {
  pages: number;
}

/** Documents arriving together, started as one execution (or one round of invocations). */
export interface Arrival {
  /** Simulated epoch milliseconds. */
  at: number;
  /** Number of documents in this arrival. */
  documents: number;
  /** Page counts from a trace; undefined lets the document mix choose. */
  traced?: TracedDocument[];
}

/** Time window, seed and trace folder of the arrivals. */
export interface ArrivalWindow {
  /** Simulated epoch milliseconds of the scenario start. */
  start: number;
  durationMs: number;
  seed: number;
  /** Folder that trace file paths are relative to. */
  baseDir: string;
}

const WEEKDAY_INDEX: Record<string, string> = {
  Mon: "mon",
  Tue: "tue",
  Wed: "wed",
  Thu: "thu",
  Fri: "fri",
  Sat: "sat",
  Sun: "sun",
};
const formatters = new Map<string, Intl.DateTimeFormat>();

/** True when the instant falls inside the working hours, in their time zone. */
export function isWithinWorkingHours(epochMs: number, hours: WorkingHours): boolean {
  let formatter = formatters.get(hours.timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: hours.timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(hours.timeZone, formatter);
  }
  const parts = Object.fromEntries(
    formatter.formatToParts(new Date(epochMs)).map((part) => [part.type, part.value]),
  );
  const day = WEEKDAY_INDEX[parts.weekday];
  if (!hours.days.includes(day as WorkingHours["days"][number])) return false;
  const time = `${parts.hour}:${parts.minute}`;
  return time >= hours.start && time < hours.end;
}

/** Generates the arrivals of a model inside the window, sorted by time. */
export function generateArrivals(model: ArrivalModel, window: ArrivalWindow): Arrival[] {
  const random = new SeededRandom(window.seed).fork("arrivals");
  const end = window.start + window.durationMs;
  const arrivals: Arrival[] = [];

  switch (model.model) {
    case "batches":
      for (let at = window.start; at < end; at += model.every) {
        if (model.workingHours && !isWithinWorkingHours(at, model.workingHours)) continue;
        arrivals.push({ at, documents: random.integer(model.documents.min, model.documents.max) });
      }
      break;
    case "constant":
      for (let at = window.start; at < end; at += model.every)
        arrivals.push({ at, documents: model.documents });
      break;
    case "poisson": {
      const meanGapMs = 60_000 / model.ratePerMinute;
      for (
        let at = window.start + random.exponential(meanGapMs);
        at < end;
        at += random.exponential(meanGapMs)
      ) {
        if (model.workingHours && !isWithinWorkingHours(at, model.workingHours)) continue;
        arrivals.push({
          at: Math.round(at),
          documents: random.integer(model.documents.min, model.documents.max),
        });
      }
      break;
    }
    case "burst":
      for (const burst of model.bursts) {
        const gap = burst.documents > 1 ? burst.over / (burst.documents - 1) : 0;
        for (let index = 0; index < burst.documents; index++) {
          const at = Math.round(window.start + burst.at + index * gap);
          if (at < end) arrivals.push({ at, documents: 1 });
        }
      }
      break;
    case "trace":
      arrivals.push(
        ...readTrace(path.resolve(window.baseDir, model.file), window.start).filter(
          (arrival) => arrival.at < end,
        ),
      );
      break;
  }
  return arrivals.sort((a, b) => a.at - b.at);
}

/**
 * Reads a trace: one document per line, as JSONL (`{"at": ..., "pages": 12}`)
 * or CSV with a header (`at,pages`). `at` is an ISO 8601 timestamp or seconds
 * after the scenario start. Documents with the same `at` arrive together.
 */
export function readTrace(file: string, start: number): Arrival[] {
  const text = readFileSync(file, "utf8");
  const rows = file.toLowerCase().endsWith(".csv")
    ? parseCsvRows(text, file)
    : parseJsonlRows(text, file);
  const byTime = new Map<number, TracedDocument[]>();

  rows.forEach((row, index) => {
    const where = `${file} row ${index + 1}`;
    const at = traceTime(row.at, start, where);
    const pages = Number(row.pages ?? 1);
    if (!Number.isInteger(pages) || pages < 1 || pages > MAX_DOCUMENT_PAGES) {
      throw new RangeError(
        `Invalid pages ${JSON.stringify(row.pages)} in ${where}: expected an integer from 1 to ${MAX_DOCUMENT_PAGES}.`,
      );
    }
    const documents = byTime.get(at) ?? [];
    documents.push({ pages });
    byTime.set(at, documents);
  });
  return [...byTime.entries()].map(([at, traced]) => ({ at, documents: traced.length, traced }));
}

function traceTime(value: unknown, start: number, where: string): number {
  if (typeof value === "number" || (typeof value === "string" && /^\d+(\.\d+)?$/.test(value))) {
    return start + Math.round(Number(value) * 1_000);
  }
  const parsed = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) {
    throw new RangeError(
      `Invalid at ${JSON.stringify(value)} in ${where}: expected an ISO 8601 timestamp or seconds after the start.`,
    );
  }
  return parsed;
}

function parseJsonlRows(text: string, file: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line, index) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        throw new SyntaxError(
          `Invalid JSON on line ${index + 1} of ${file}: ${(error as Error).message}`,
        );
      }
    });
}

function parseCsvRows(text: string, file: string): Array<Record<string, unknown>> {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const header = (lines.shift() ?? "").split(",").map((name) => name.trim());
  if (!header.includes("at"))
    throw new SyntaxError(
      `The CSV trace ${file} needs a header line with an "at" column (and optionally "pages").`,
    );
  return lines.map((line) => {
    const cells = line.split(",").map((cell) => cell.trim());
    return Object.fromEntries(header.map((name, index) => [name, cells[index]]));
  });
}
