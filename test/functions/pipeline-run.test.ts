/**
 * Runs the pipelines on the simulator's Step Functions interpreter, with the
 * real handlers behind a Lambda invoker that calls them in this process and
 * the simulator's S3 server behind the AWS SDK. The Lambda service itself
 * (sandboxes, pools) is left out here, so these tests check the state
 * machine definitions and the handlers' event and result shapes together.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import { readCorpusFile } from "./corpus.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ready =
  existsSync(`${REPO}simulator/s3/s3-plugin.ts`) &&
  existsSync(`${REPO}simulator/stepfunctions/service.ts`);
const BUCKET = "pdf-pipeline";
const ROLE = "arn:aws:iam::000000000000:role/pdf-pipeline";

type Handler = (event: unknown, context?: unknown) => Promise<unknown>;
const handlers: Record<string, Handler> = {};
let s3: S3Client;
let app: { close(): Promise<void> } | undefined;
let stepFunctions: import("../../simulator/stepfunctions/service.ts").StepFunctionsService;
let dataDir: string;
const savedEnv = { ...process.env };

// Calls the handler named by the function ARN in this process and shapes the
// outcome as the Lambda service's Invoke result does.
const inProcessInvoker = {
  async invoke(request: { functionName: string; payload: Buffer }) {
    const name = request.functionName.split(":").at(-1) ?? request.functionName;
    const handler = handlers[name];
    if (!handler) throw new Error(`No handler named ${name} in this test.`);
    const requestId = randomUUID();
    const deadline = Date.now() + 60_000;
    const context = {
      functionName: name,
      awsRequestId: requestId,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    try {
      const output = await handler(JSON.parse(request.payload.toString() || "null"), context);
      return {
        statusCode: 200,
        payload: Buffer.from(JSON.stringify(output)),
        executedVersion: "$LATEST",
        requestId,
      };
    } catch (error) {
      const { name: errorType, message: errorMessage } = error as Error;
      return {
        statusCode: 200,
        functionError: "Unhandled" as const,
        payload: Buffer.from(JSON.stringify({ errorType, errorMessage, trace: [] })),
        executedVersion: "$LATEST",
        requestId,
      };
    }
  },
};

async function readBody(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  if (!response.Body) throw new Error(`GetObject returned no body for ${key}.`);
  return Buffer.from(await response.Body.transformToByteArray());
}

// The object store the interpreter's ItemReader reads, over the real S3 API.
const s3ForStepFunctions = {
  async getObject(bucket: string, key: string) {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new Error(`GetObject returned no body for s3://${bucket}/${key}.`);
    return Buffer.from(await response.Body.transformToByteArray());
  },
  async putObject(bucket: string, key: string, body: Buffer | string) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  },
  async listObjects(bucket: string, prefix?: string) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => ({
      Key: object.Key ?? "",
      Size: object.Size ?? 0,
    }));
  },
};

/** DescribeExecution's fields that these tests read. */
interface ExecutionDescription {
  status: string;
  output?: string;
  error?: string;
}

async function runPipeline(file: string, input: unknown): Promise<ExecutionDescription> {
  const definition = readFileSync(`${REPO}pipelines/${file}`, "utf8");
  const name = `${file.replace(/\W+/g, "-")}-${randomUUID().slice(0, 8)}`;
  const { stateMachineArn } = await stepFunctions.createStateMachine({
    name,
    definition,
    roleArn: ROLE,
  });
  const { executionArn } = await stepFunctions.startExecution({
    stateMachineArn,
    input: JSON.stringify(input),
  });
  await stepFunctions.waitForExecution(executionArn as string);
  return (await stepFunctions.describeExecution({
    executionArn,
  })) as unknown as ExecutionDescription;
}

describe.skipIf(!ready)("PDF pipelines on the Step Functions interpreter", () => {
  beforeAll(async () => {
    const { createEdgeServer } = await import("../../simulator/edge/edge-server.ts");
    const { SERVICE_PREFIX } = await import("../../simulator/edge/service-routing.ts");
    const { ObjectStore } = await import("../../simulator/s3/object-store.ts");
    const { s3Plugin } = await import("../../simulator/s3/s3-plugin.ts");
    const { StepFunctionsService } = await import("../../simulator/stepfunctions/service.ts");
    const { RealClock } = await import("../../simulator/clock.ts");

    dataDir = await mkdtemp(join(tmpdir(), "warmstate-pipeline-"));
    const store = new ObjectStore({ root: join(dataDir, "s3") });
    await store.open();
    const server = createEdgeServer({ logger: pino({ level: "silent" }) });
    await server.register(s3Plugin, { prefix: SERVICE_PREFIX.s3, store });
    const address = await server.listen({ host: "127.0.0.1", port: 0 });
    app = server;

    Object.assign(process.env, {
      AWS_ENDPOINT_URL: address,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      TMP_DIR: join(dataDir, "tmp"),
      CLEAN_TMP: "true",
      CLOSE_FDS: "true",
    });
    await mkdir(join(dataDir, "tmp"));
    s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

    handlers["pdf-split"] = (await import("../../functions/pdf-split/index.mjs")).handler;
    handlers["pdf-analyze"] = (await import("../../functions/pdf-analyze/index.mjs")).handler;
    handlers["pdf-summarize"] = (await import("../../functions/pdf-summarize/index.mjs")).handler;

    stepFunctions = new StepFunctionsService({
      dataDir: join(dataDir, "states"),
      clock: new RealClock(),
      logger: pino({ level: "silent" }),
      invoker: inProcessInvoker,
      s3: s3ForStepFunctions,
      accountId: "000000000000",
    });
    await stepFunctions.ready;
  });

  afterEach(() => {
    delete process.env.INLINE_RESULT_MAX_BYTES;
    delete process.env.RENDER_DPI;
  });

  afterAll(async () => {
    await stepFunctions?.close();
    s3?.destroy();
    await app?.close();
    await rm(dataDir, { recursive: true, force: true });
    process.env = { ...savedEnv };
  });

  describe("pdf-batch.asl.json", () => {
    it("summarizes good documents and lists bad ones", async () => {
      await s3ForStepFunctions.putObject(
        BUCKET,
        "batch/good.pdf",
        readCorpusFile("blank-page-without-contents-in-3-page-doc.pdf"),
      );
      await s3ForStepFunctions.putObject(
        BUCKET,
        "batch/locked.pdf",
        readCorpusFile("encrypted-aes-128-r4-user-password.pdf"),
      );
      await s3ForStepFunctions.putObject(
        BUCKET,
        "batch/zero.pdf",
        readCorpusFile("zero-pages.pdf"),
      );
      const documents = [
        { key: "batch/good.pdf" },
        { key: "batch/locked.pdf" },
        { key: "batch/zero.pdf" },
      ];

      const execution = await runPipeline("pdf-batch.asl.json", { bucket: BUCKET, documents });

      expect(execution.status).toBe("SUCCEEDED");
      const report = JSON.parse(execution.output ?? "null");
      expect(report).toMatchObject({ documentCount: 3, succeededCount: 1, failedCount: 2 });
      expect(report.succeeded).toEqual([
        {
          key: "batch/good.pdf",
          summaryKey: "summaries/batch/good.json",
          pageCount: 3,
          blankPageCount: 1,
        },
      ]);
      expect(
        report.failed.map((failure: { key: string; error: string }) => [
          failure.key,
          failure.error,
        ]),
      ).toEqual([
        ["batch/locked.pdf", "EncryptedPDFError"],
        ["batch/zero.pdf", "ZeroPagesError"],
      ]);
      const summary = JSON.parse((await readBody("summaries/batch/good.json")).toString());
      expect(summary.blankPages).toEqual([2]);
    });

    it("analyzes a document whose page list is in a manifest", async () => {
      process.env.INLINE_RESULT_MAX_BYTES = "1000";
      process.env.RENDER_DPI = "20";
      await s3ForStepFunctions.putObject(
        BUCKET,
        "batch/long.pdf",
        await generatePdf({ pages: 30, seed: 51 }),
      );

      const execution = await runPipeline("pdf-batch.asl.json", {
        bucket: BUCKET,
        documents: [{ key: "batch/long.pdf" }],
      });

      expect(execution.status).toBe("SUCCEEDED");
      expect(JSON.parse(execution.output ?? "null").succeeded[0]).toMatchObject({
        key: "batch/long.pdf",
        pageCount: 30,
      });
      const manifest = JSON.parse((await readBody("pages/batch/long/manifest.json")).toString());
      expect(manifest).toHaveLength(30);
    });
  });

  describe("pdf-batch-inline.asl.json", () => {
    it("returns page results inline for a small document", async () => {
      await s3ForStepFunctions.putObject(
        BUCKET,
        "inline/small.pdf",
        await generatePdf({ pages: 2, seed: 61 }),
      );

      const execution = await runPipeline("pdf-batch-inline.asl.json", {
        bucket: BUCKET,
        documents: [{ key: "inline/small.pdf" }],
      });

      expect(execution.status).toBe("SUCCEEDED");
      const [document] = JSON.parse(execution.output ?? "null");
      expect(document.status).toBe("succeeded");
      expect(document.pages).toHaveLength(2);
    });

    it("fails with States.DataLimitExceeded on a 600-page document", async () => {
      // Each inline page result is about 600 bytes, so 600 pages pass 256 KiB.
      process.env.RENDER_DPI = "10";
      await s3ForStepFunctions.putObject(
        BUCKET,
        "inline/long.pdf",
        await generatePdf({ pages: 600, seed: 62 }),
      );

      const execution = await runPipeline("pdf-batch-inline.asl.json", {
        bucket: BUCKET,
        documents: [{ key: "inline/long.pdf" }],
      });

      expect(execution.status).toBe("FAILED");
      expect(execution.error).toBe("States.DataLimitExceeded");
    }, 240_000);

    it("lets pdf-batch.asl.json process the same 600 pages", async () => {
      process.env.RENDER_DPI = "10";

      const execution = await runPipeline("pdf-batch.asl.json", {
        bucket: BUCKET,
        documents: [{ key: "inline/long.pdf" }],
      });

      expect(execution.status).toBe("SUCCEEDED");
      expect(JSON.parse(execution.output ?? "null").succeeded[0]).toMatchObject({
        key: "inline/long.pdf",
        pageCount: 600,
      });
    }, 240_000);
  });
});
