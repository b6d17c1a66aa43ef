import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientConfig, deployPipeline, deploySettingsFor } from "../../simulator/replay/deploy.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";
import { readCorpusFile } from "./corpus.ts";

// Three good documents and two bad ones from the corpus, with the outcome
// each must have in the batch report.
const BATCH = [
  { file: "single-page-a4-800x600-jpeg.pdf", error: undefined },
  { file: "multipage-19-pages-object-streams-jpeg.pdf", error: undefined },
  { file: "rotated-20-pages-0-90-180-270.pdf", error: undefined },
  { file: "encrypted-rc4-40-r2-user-password.pdf", error: "EncryptedPDFError" },
  { file: "not-a-pdf-23-bytes-startxref-only.pdf", error: "InvalidPDFError" },
];

describe("pdf-batch through the Step Functions API", () => {
  let simulator: Simulator;
  // Process sandboxes get a private /tmp, so the data dir lives in the repository.
  const dataDir = path.resolve(".warmstate", `pipeline-api-${process.pid}`);

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    simulator = await startSimulator({ dataDir, logLevel: "silent" });
  });

  afterAll(async () => {
    await simulator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("reports every document of a real batch", async () => {
    const settings = deploySettingsFor();
    const deployed = await deployPipeline({ endpoint: simulator.endpoint, settings });
    const s3 = new S3Client({ ...clientConfig(simulator.endpoint), forcePathStyle: true });
    const sfn = new SFNClient(clientConfig(simulator.endpoint));
    for (const { file } of BATCH) {
      await s3.send(
        new PutObjectCommand({
          Bucket: deployed.bucket,
          Key: `in/${file}`,
          Body: readCorpusFile(file),
        }),
      );
    }

    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deployed.stateMachineArns["pdf-batch"],
        input: JSON.stringify({
          bucket: deployed.bucket,
          documents: BATCH.map(({ file }) => ({ key: `in/${file}` })),
        }),
      }),
    );
    let execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    while (execution.status === "RUNNING") {
      await new Promise((resolve) => setTimeout(resolve, 250));
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }

    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const report = JSON.parse(execution.output ?? "{}");
    expect(report.documentCount).toBe(5);
    expect(report.succeededCount).toBe(3);
    expect(report.failedCount).toBe(2);
    const failed = Object.fromEntries(
      report.failed.map((entry: { key: string; error: string }) => [entry.key, entry.error]),
    );
    for (const { file, error } of BATCH.filter((document) => document.error)) {
      expect(failed[`in/${file}`]).toBe(error);
    }
    const summaries = await s3.send(
      new ListObjectsV2Command({ Bucket: deployed.bucket, Prefix: "summaries/" }),
    );
    expect(summaries.KeyCount).toBe(3);
    const analyze = simulator.lambda.invocations("pdf-analyze");
    expect(analyze).toHaveLength(1 + 19 + 20);
  }, 300_000);
});
