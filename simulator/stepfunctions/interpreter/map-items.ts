/**
 * Distributed Map helpers: ItemReader (a JSON array, JSON Lines or CSV
 * object, or an object listing, from the simulator's S3), ItemBatcher and
 * ResultWriter.
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
 */
import type { ItemBatcher, ItemReader, ResultWriter } from "../asl/types.ts";
import { StatesError } from "../errors.ts";
import { buildPayload } from "../paths/payload.ts";
import type { Engine } from "./engine.ts";
import type { StateRun } from "./types.ts";

const CSV_DELIMITERS: Record<string, string> = {
  COMMA: ",",
  PIPE: "|",
  SEMICOLON: ";",
  SPACE: " ",
  TAB: "\t",
};

/** Reads the items an ItemReader names. Failures raise States.ItemReaderFailed. */
export async function readItems(
  engine: Engine,
  run: StateRun,
  reader: ItemReader,
  effective: unknown,
): Promise<unknown[]> {
  if (!engine.s3)
    throw new StatesError(
      "States.ItemReaderFailed",
      "The simulator was started without S3, so ItemReader cannot read objects.",
    );
  const parameters = (await resolveParameters(
    engine,
    run,
    reader.Arguments ?? reader.Parameters ?? {},
    effective,
  )) as Record<string, unknown>;
  const bucket = parameters.Bucket;
  if (typeof bucket !== "string")
    throw new StatesError("States.ItemReaderFailed", "ItemReader Parameters need a string Bucket.");
  const config = reader.ReaderConfig ?? {};

  let items: unknown[];
  if (reader.Resource.startsWith("arn:aws:states:::s3:listObjectsV2")) {
    if (!engine.s3.listObjects)
      throw new StatesError("States.ItemReaderFailed", "The simulator's S3 cannot list objects.");
    const objects = await engine.s3.listObjects(
      bucket,
      typeof parameters.Prefix === "string" ? parameters.Prefix : undefined,
    );
    items = objects.map((object) => ({
      Etag: object.ETag,
      Key: object.Key,
      LastModified: object.LastModified,
      Size: object.Size,
      StorageClass: "STANDARD",
    }));
  } else if (reader.Resource.startsWith("arn:aws:states:::s3:getObject")) {
    const key = parameters.Key;
    if (typeof key !== "string")
      throw new StatesError("States.ItemReaderFailed", "ItemReader Parameters need a string Key.");
    let body: Buffer;
    try {
      body = await engine.s3.getObject(bucket, key);
    } catch (error) {
      throw new StatesError(
        "States.ItemReaderFailed",
        `Reading s3://${bucket}/${key} failed: ${(error as Error).message}`,
      );
    }
    items = parseObject(body.toString("utf8"), config, `s3://${bucket}/${key}`);
  } else {
    throw new StatesError(
      "States.ItemReaderFailed",
      `The ItemReader resource '${reader.Resource}' is not supported by the simulator.`,
    );
  }

  const maxItems = config.MaxItems;
  return typeof maxItems === "number" && maxItems > 0 ? items.slice(0, maxItems) : items;
}

async function resolveParameters(
  engine: Engine,
  run: StateRun,
  template: unknown,
  effective: unknown,
): Promise<unknown> {
  if (run.language === "JSONata") return engine.evaluate(run, template, {});
  return buildPayload(template, engine.scope(run, effective));
}

function parseObject(
  text: string,
  config: NonNullable<ItemReader["ReaderConfig"]>,
  location: string,
): unknown[] {
  const type = config.InputType ?? "JSON";
  if (type === "JSON") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new StatesError("States.ItemReaderFailed", `The object ${location} is not valid JSON.`);
    }
    if (!Array.isArray(parsed))
      throw new StatesError(
        "States.ItemReaderFailed",
        `The object ${location} does not contain a JSON array.`,
      );
    return parsed;
  }
  if (type === "JSONL") {
    return text
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
  }
  if (type === "CSV") {
    const rows = parseCsv(text, CSV_DELIMITERS[config.CSVDelimiter ?? "COMMA"] ?? ",");
    const headers =
      config.CSVHeaderLocation === "GIVEN" ? (config.CSVHeaders ?? []) : (rows.shift() ?? []);
    return rows.map((row) =>
      Object.fromEntries(headers.map((header, index) => [header, row[index] ?? ""])),
    );
  }
  throw new StatesError(
    "States.ItemReaderFailed",
    `The ReaderConfig InputType '${type}' is not supported by the simulator.`,
  );
}

/** Parses RFC 4180 CSV text: quoted fields, doubled quotes, CRLF or LF rows. */
function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === delimiter) {
      row.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += char;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Groups items into `{Items: [...], BatchInput}` batches of at most MaxItemsPerBatch. */
export async function batchItems(
  engine: Engine,
  run: StateRun,
  batcher: ItemBatcher,
  items: unknown[],
  effective: unknown,
): Promise<unknown[]> {
  const size = batcher.MaxItemsPerBatch ?? items.length;
  if (!Number.isInteger(size) || size <= 0)
    throw new StatesError(
      "States.Runtime",
      `MaxItemsPerBatch must be a positive integer, received ${size}`,
    );
  const batchInput =
    batcher.BatchInput === undefined
      ? undefined
      : await resolveParameters(engine, run, batcher.BatchInput, effective);
  const batches: unknown[] = [];
  for (let i = 0; i < items.length; i += size) {
    const batch: Record<string, unknown> = { Items: items.slice(i, i + size) };
    if (batchInput !== undefined) batch.BatchInput = batchInput;
    batches.push(batch);
  }
  return batches;
}

/**
 * Writes the results under `Prefix/<map run id>/`: SUCCEEDED_0.json,
 * FAILED_0.json and manifest.json, and returns what the Map outputs then.
 */
export async function writeResults(
  engine: Engine,
  run: StateRun,
  writer: ResultWriter,
  outcome: {
    mapRunArn: string;
    /** ARN of the child execution (or iteration) that processed item `index`. */
    childArn: (index: number) => string;
    results: unknown[];
    failures: { index: number; error: StatesError }[];
  },
): Promise<unknown> {
  const { mapRunArn, results, failures } = outcome;
  if (!engine.s3)
    throw new StatesError(
      "States.ResultWriterFailed",
      "The simulator was started without S3, so ResultWriter cannot write objects.",
    );
  const template = writer.Arguments ?? writer.Parameters ?? {};
  const target = (await resolveParameters(engine, run, template, run.rawInput)) as {
    Bucket?: string;
    Prefix?: string;
  };
  if (!target?.Bucket)
    throw new StatesError("States.ResultWriterFailed", "ResultWriter needs a Bucket.");
  const runId = mapRunArn.split(":").pop() ?? "run";
  const prefix = `${target.Prefix ? `${target.Prefix.replace(/\/$/, "")}/` : ""}${runId}`;
  const failed = new Set(failures.map((failure) => failure.index));

  const entries = (indices: number[]) =>
    indices.map((index) => ({
      ExecutionArn: outcome.childArn(index),
      Input: JSON.stringify(null),
      Output: failed.has(index) ? undefined : JSON.stringify(results[index]),
      Error: failed.has(index) ? (results[index] as { Error?: string }).Error : undefined,
      Cause: failed.has(index) ? (results[index] as { Cause?: string }).Cause : undefined,
      Status: failed.has(index) ? "FAILED" : "SUCCEEDED",
    }));
  const all = results.map((_, index) => index);
  const succeededKey = `${prefix}/SUCCEEDED_0.json`;
  const failedKey = `${prefix}/FAILED_0.json`;
  const manifestKey = `${prefix}/manifest.json`;
  try {
    await engine.s3.putObject(
      target.Bucket,
      succeededKey,
      JSON.stringify(entries(all.filter((index) => !failed.has(index)))),
    );
    await engine.s3.putObject(target.Bucket, failedKey, JSON.stringify(entries([...failed])));
    await engine.s3.putObject(
      target.Bucket,
      manifestKey,
      JSON.stringify({
        DestinationBucket: target.Bucket,
        MapRunArn: mapRunArn,
        ResultFiles: {
          SUCCEEDED: [{ Key: succeededKey, Size: 0 }],
          FAILED: [{ Key: failedKey, Size: 0 }],
          PENDING: [],
        },
      }),
    );
  } catch (error) {
    throw new StatesError(
      "States.ResultWriterFailed",
      `Writing the Map results to s3://${target.Bucket}/${prefix} failed: ${(error as Error).message}`,
    );
  }
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: target.Bucket, Key: manifestKey } };
}
