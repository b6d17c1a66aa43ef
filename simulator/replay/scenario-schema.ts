/**
 * The replay scenario format (pipelines/scenarios/*.yaml), validated with zod
 * where it enters. Every error names the field path, the value it received
 * and what is allowed (see describeIssue in scenario-loader.ts).
 */
import { z } from "zod";
import { parseDurationMs } from "./durations.ts";

/** Functions of the PDF pipeline a scenario can configure. */
export const PIPELINE_FUNCTIONS = ["pdf-split", "pdf-analyze", "pdf-summarize"] as const;
export type PipelineFunction = (typeof PIPELINE_FUNCTIONS)[number];

/** State machines of the PDF pipeline, by the file name under pipelines/. */
export const PIPELINE_STATE_MACHINES = [
  "pdf-batch",
  "pdf-batch-strict",
  "pdf-batch-inline",
] as const;

/** Largest document a scenario may ask for, in pages. */
export const MAX_DOCUMENT_PAGES = 1_000;

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

const duration = z.union([z.number(), z.string()]).transform((value, context) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    context.addIssue({
      code: "custom",
      message: 'expected seconds as a number or a string such as "90s", "5m", "8h" or "1h30m"',
    });
    return z.NEVER;
  }
  return ms;
});

const positiveDuration = duration.refine((ms) => ms > 0, { message: "must be longer than zero" });

/** An integer range: `{ min, max }` or one number for a fixed value. */
const integerRange = (low: number, high: number) =>
  z
    .union([
      z.number().int().min(low).max(high),
      z
        .object({
          min: z.number().int().min(low).max(high),
          max: z.number().int().min(low).max(high),
        })
        .strict(),
    ])
    .transform((value) => (typeof value === "number" ? { min: value, max: value } : value))
    .refine((range) => range.min <= range.max, { message: "min must not exceed max" });

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time such as "09:00"');

const timeZone = z.string().refine(
  (name) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: name });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'unknown IANA time zone: use a name such as "America/New_York" or "UTC"' },
);

const workingHours = z
  .object({
    timeZone,
    start: clockTime,
    end: clockTime,
    days: z.array(z.enum(WEEKDAYS)).min(1).default(["mon", "tue", "wed", "thu", "fri"]),
  })
  .strict()
  .refine((hours) => hours.start < hours.end, {
    message: "start must be before end",
    path: ["end"],
  });

const batchesModel = z
  .object({
    model: z.literal("batches"),
    every: positiveDuration,
    documents: integerRange(1, 10_000),
    workingHours: workingHours.optional(),
  })
  .strict();

const burstModel = z
  .object({
    model: z.literal("burst"),
    bursts: z
      .array(
        z
          .object({
            /** Offset from the scenario start. */
            at: duration,
            documents: z.number().int().min(1).max(10_000),
            /** The burst's documents arrive evenly over this span, one execution each. */
            over: duration.default(0),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const poissonModel = z
  .object({
    model: z.literal("poisson"),
    ratePerMinute: z.number().positive().max(10_000),
    documents: integerRange(1, 10_000).default({ min: 1, max: 1 }),
    workingHours: workingHours.optional(),
  })
  .strict();

const constantModel = z
  .object({
    model: z.literal("constant"),
    every: positiveDuration,
    documents: z.number().int().min(1).max(10_000).default(1),
  })
  .strict();

const traceModel = z
  .object({
    model: z.literal("trace"),
    /** JSONL or CSV file of arrivals, relative to the scenario file. */
    file: z.string().regex(/\.(jsonl|csv)$/i, "must name a .jsonl or .csv file"),
  })
  .strict();

/** Arrival models, by their `model` field. */
export const ARRIVAL_MODELS = ["batches", "burst", "poisson", "constant", "trace"] as const;

const arrivals = z.discriminatedUnion("model", [
  batchesModel,
  burstModel,
  poissonModel,
  constantModel,
  traceModel,
]);

const pageBucket = z
  .object({
    range: z.tuple([
      z.number().int().min(1).max(MAX_DOCUMENT_PAGES),
      z.number().int().min(1).max(MAX_DOCUMENT_PAGES),
    ]),
    weight: z.number().positive(),
  })
  .strict()
  .refine((bucket) => bucket.range[0] <= bucket.range[1], {
    message: "range must be [low, high] with low <= high",
  });

const documents = z
  .object({
    /** Share of documents taken from the real corpus instead of generated. */
    corpusShare: z.number().min(0).max(1).default(0.2),
    /** Page counts of generated documents: weighted buckets, uniform inside a bucket. */
    pages: z
      .array(pageBucket)
      .min(1)
      .default([{ range: [1, 5], weight: 1 }]),
    /** Share of generated documents made of scanned-like image pages. */
    scannedShare: z.number().min(0).max(1).default(0),
    /** Resolution of scanned-like pages; bigger means more bytes per page in /tmp. */
    scanDpi: z.number().int().min(10).max(600).default(100),
    /** Share of documents that are broken: truncated or unreadable corpus files. */
    badRate: z.number().min(0).max(1).default(0),
    /** Distinct generated documents; arrivals reuse them so uploads stay few. */
    distinct: z.number().int().min(1).max(10_000).default(40),
  })
  .strict();

const functionSettings = z
  .object({
    memorySize: z.number().int().min(128).max(10_240).optional(),
    ephemeralStorageSize: z.number().int().min(512).max(10_240).optional(),
    timeout: z.number().int().min(1).max(900).optional(),
    reservedConcurrency: z.number().int().min(0).max(1_000).optional(),
    keepAlive: positiveDuration.optional(),
    maxLifetime: positiveDuration.optional(),
    environment: z.record(z.string(), z.string()).default({}),
  })
  .strict();

/**
 * When re-runs start: `after` the last arrival's executions have stopped
 * (long enough past the functions' keep-alive and every idle environment is
 * reclaimed), then one re-run at a time, at most one per `every`.
 */
const rerunSchedule = z.object({
  after: positiveDuration,
  every: positiveDuration.default(60_000),
});

const drive = z
  .object({
    /** `state-machine` starts one execution per arrival; `function` invokes one function per page. */
    target: z.enum(["state-machine", "function"]).default("state-machine"),
    stateMachine: z.enum(PIPELINE_STATE_MACHINES).default("pdf-batch"),
    function: z.enum(PIPELINE_FUNCTIONS).default("pdf-analyze"),
    /**
     * Redrive failed executions once. `true` redrives each one as soon as it
     * fails, so the redrive usually lands on the environment that just
     * failed. An object waits `after` the last arrival's executions have
     * stopped, then redrives up to `max` of them one at a time, `every`
     * apart, taking the failure kinds in turn so each kind gets re-runs.
     */
    redrive: z
      .union([
        z.boolean(),
        rerunSchedule.extend({ max: z.number().int().min(1).max(10_000).default(12) }).strict(),
      ])
      .default(false),
    /**
     * Re-run up to `max` of the documents that failed inside executions, each
     * as a new execution, on the same schedule as a delayed redrive.
     */
    retryFailedDocuments: rerunSchedule
      .extend({ max: z.number().int().min(1).max(10_000).default(20) })
      .strict()
      .optional(),
    /** Invocations or executions in flight at once, from the driver's side. */
    maxInFlight: z.number().int().min(1).max(1_000).default(64),
  })
  .strict();

/** The whole scenario file. */
export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, "must be lowercase letters, digits and hyphens"),
    description: z.string().default(""),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1),
    /** Simulated start, an ISO 8601 date and time with offset. */
    start: z.iso.datetime({ offset: true }).default("2026-03-02T08:00:00-05:00"),
    /** Simulated time during which arrivals happen. */
    duration: positiveDuration,
    arrivals,
    documents: documents.default({
      corpusShare: 0.2,
      pages: [{ range: [1, 5], weight: 1 }],
      scannedShare: 0,
      scanDpi: 100,
      badRate: 0,
      distinct: 40,
    }),
    drive: drive.default({
      target: "state-machine",
      stateMachine: "pdf-batch",
      function: "pdf-analyze",
      redrive: false,
      maxInFlight: 64,
    }),
    functions: z.partialRecord(z.enum(PIPELINE_FUNCTIONS), functionSettings).default({}),
    /** The production bugs and their workaround: true turns the fix or workaround on. */
    toggles: z
      .object({
        CLEAN_TMP: z.boolean().default(false),
        CLOSE_FDS: z.boolean().default(false),
        SELF_RECYCLE: z.boolean().default(false),
      })
      .strict()
      .default({ CLEAN_TMP: false, CLOSE_FDS: false, SELF_RECYCLE: false }),
  })
  .strict();

/** A validated scenario; durations are milliseconds. */
export type Scenario = z.infer<typeof scenarioSchema>;
export type ArrivalModel = Scenario["arrivals"];
export type DocumentMix = Scenario["documents"];
export type FunctionSettings = z.infer<typeof functionSettings>;
export type WorkingHours = z.infer<typeof workingHours>;
