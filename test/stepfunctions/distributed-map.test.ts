/**
 * Distributed Map: ItemReader from the simulator's S3 (JSON array, CSV,
 * object listing), ItemBatcher and ResultWriter, and the execution-level
 * TimeoutSeconds.
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../simulator/clock.ts";
import { type Harness, runToEnd, startHarness } from "./harness.ts";

const distributed = (
  extra: Record<string, unknown>,
  processor: Record<string, unknown> = { StartAt: "P", States: { P: { Type: "Pass", End: true } } },
) => ({
  StartAt: "M",
  States: {
    M: {
      Type: "Map",
      ItemProcessor: {
        ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
        ...processor,
      },
      End: true,
      ...extra,
    },
  },
});

let harness: Harness;
let clock: VirtualClock;
beforeAll(async () => {
  clock = new VirtualClock({ start: Date.parse("2026-01-01T00:00:00Z"), speed: 1, jumpIdle: true });
  harness = await startHarness({ clock });
  await harness.s3.putObject("input", "items.json", JSON.stringify([{ n: 1 }, { n: 2 }, { n: 3 }]));
  await harness.s3.putObject("input", "rows.csv", 'name,size\n"a, b",1\nc,2\n');
  await harness.s3.putObject("input", "pages/1.pdf", "x");
  await harness.s3.putObject("input", "pages/2.pdf", "yy");
});
afterAll(async () => {
  await harness.close();
  clock.stop();
});

describe("Distributed Map ItemReader", () => {
  it("reads a JSON array object", async () => {
    const definition = distributed({
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "JSON" },
        Parameters: { Bucket: "input", Key: "items.json" },
      },
    });
    const result = await runToEnd(harness, definition);
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("reads CSV rows with the header row", async () => {
    const definition = distributed({
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "CSV", CSVHeaderLocation: "FIRST_ROW" },
        Parameters: { Bucket: "input", Key: "rows.csv" },
      },
    });
    const result = await runToEnd(harness, definition);
    expect(JSON.parse(result.output as string)).toEqual([
      { name: "a, b", size: "1" },
      { name: "c", size: "2" },
    ]);
  });

  it("lists objects under a prefix", async () => {
    const definition = distributed({
      ItemReader: {
        Resource: "arn:aws:states:::s3:listObjectsV2",
        Parameters: { Bucket: "input", Prefix: "pages/" },
      },
      ItemSelector: { "key.$": "$$.Map.Item.Value.Key" },
    });
    const result = await runToEnd(harness, definition);
    expect(JSON.parse(result.output as string)).toEqual([
      { key: "pages/1.pdf" },
      { key: "pages/2.pdf" },
    ]);
  });

  it("fails with States.ItemReaderFailed on a missing object", async () => {
    const definition = distributed({
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        Parameters: { Bucket: "input", Key: "missing.json" },
      },
    });
    const result = await runToEnd(harness, definition);
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("States.ItemReaderFailed");
  });

  it("records MapRun events but not iterations", async () => {
    const definition = distributed({
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        Parameters: { Bucket: "input", Key: "items.json" },
      },
    });
    const result = await runToEnd(harness, definition);
    const { GetExecutionHistoryCommand } = await import("@aws-sdk/client-sfn");
    const history = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn }),
    );
    expect(history.events?.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "MapStateEntered",
      "MapRunStarted",
      "MapRunSucceeded",
      "MapStateExited",
      "ExecutionSucceeded",
    ]);
  });
});

describe("Distributed Map batching and results", () => {
  it("groups items with ItemBatcher", async () => {
    const definition = distributed({
      ItemsPath: "$.items",
      ItemBatcher: { MaxItemsPerBatch: 2, BatchInput: { "job.$": "$.job" } },
    });
    const result = await runToEnd(harness, definition, { items: [1, 2, 3], job: "j" });
    expect(JSON.parse(result.output as string)).toEqual([
      { Items: [1, 2], BatchInput: { job: "j" } },
      { Items: [3], BatchInput: { job: "j" } },
    ]);
  });

  it("writes results with ResultWriter", async () => {
    const definition = distributed({
      ItemsPath: "$.items",
      ResultWriter: {
        Resource: "arn:aws:states:::s3:putObject",
        Parameters: { Bucket: "output", Prefix: "runs" },
      },
    });
    const result = await runToEnd(harness, definition, { items: ["a", "b"] });
    expect(result.status).toBe("SUCCEEDED");
    const output = JSON.parse(result.output as string) as {
      MapRunArn: string;
      ResultWriterDetails: { Bucket: string; Key: string };
    };
    expect(output.ResultWriterDetails.Bucket).toBe("output");
    expect(output.ResultWriterDetails.Key).toMatch(/^runs\/.+\/manifest\.json$/);
    const manifest = JSON.parse(
      (await harness.s3.getObject("output", output.ResultWriterDetails.Key)).toString(),
    );
    const succeeded = JSON.parse(
      (await harness.s3.getObject("output", manifest.ResultFiles.SUCCEEDED[0].Key)).toString(),
    );
    expect(succeeded.map((entry: { Output: string }) => JSON.parse(entry.Output))).toEqual([
      "a",
      "b",
    ]);
  });
});

describe("execution TimeoutSeconds", () => {
  it("times out a long execution", async () => {
    const definition = {
      TimeoutSeconds: 5,
      StartAt: "W",
      States: { W: { Type: "Wait", Seconds: 60, End: true } },
    };
    const result = await runToEnd(harness, definition);
    expect(result.status).toBe("TIMED_OUT");
    expect(result.error).toBe("States.Timeout");
    const { GetExecutionHistoryCommand } = await import("@aws-sdk/client-sfn");
    const history = await harness.client.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn }),
    );
    expect(history.events?.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "WaitStateEntered",
      "WaitStateAborted",
      "ExecutionTimedOut",
    ]);
  });
});
