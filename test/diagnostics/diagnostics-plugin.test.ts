import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import { inspectCommand } from "../../simulator/commands/inspect-command.ts";
import { diagnosticsPlugin } from "../../simulator/diagnostics/plugin.ts";
import { clientConfig, deployPipeline, deploySettingsFor } from "../../simulator/replay/deploy.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";

const INVOCATIONS = 12;

describe("live diagnostics", () => {
  const folder = mkdtempSync(path.join(tmpdir(), "warmstate-diagnostics-"));
  let simulator: Simulator;
  let app: FastifyInstance;
  let endpoint: string;

  beforeAll(async () => {
    simulator = await startSimulator({
      dataDir: path.join(folder, "data"),
      logFile: path.join(folder, "simulator.log"),
    });
    // The plugin on its own server, so the test does not depend on where the simulator registers it.
    app = Fastify();
    await app.register(diagnosticsPlugin, { prefix: "/_warmstate", lambda: simulator.lambda });
    endpoint = await app.listen({ port: 0, host: "127.0.0.1" });

    const deployed = await deployPipeline({
      endpoint: simulator.endpoint,
      settings: deploySettingsFor(),
    });
    const s3 = new S3Client({ ...clientConfig(simulator.endpoint), forcePathStyle: true });
    await s3.send(
      new PutObjectCommand({
        Bucket: deployed.bucket,
        Key: "page.pdf",
        Body: await generatePdf({ pages: 1 }),
      }),
    );
    s3.destroy();
    const payload = Buffer.from(JSON.stringify({ bucket: deployed.bucket, key: "page.pdf" }));
    for (let index = 0; index < INVOCATIONS; index++)
      await simulator.lambda.invoke({ functionName: "pdf-analyze", payload });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await simulator?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("reports the descriptor leak of pdf-analyze", async () => {
    const response = await fetch(`${endpoint}/_warmstate/diagnostics?function=pdf-analyze`);
    const body = await response.json();

    expect(response.status).toBe(200);
    expect(body.environments).toHaveLength(1);
    expect(body.environments[0].invocations).toBe(INVOCATIONS);
    expect(body.environments[0].findings.trends.descriptors.perInvocation).toBeCloseTo(1, 1);
    expect(body.environments[0].findings.descriptorGrowth[0].pattern).toBe("/tmp/page-*.pdf");
    expect(body.leaking).toBe(1);
  });

  it("serves the probe series", async () => {
    const response = await fetch(`${endpoint}/_warmstate/diagnostics/series`);
    const body = await response.json();

    expect(body.invocations).toHaveLength(INVOCATIONS);
    expect(body.environments[0].points).toHaveLength(INVOCATIONS);
  });

  it("rejects an unknown function", async () => {
    const response = await fetch(`${endpoint}/_warmstate/diagnostics?function=no-such-function`);
    expect(response.status).toBe(404);
  });

  it("prints the findings from inspect", async () => {
    const printed: string[] = [];
    const spy = vi
      .spyOn(console, "log")
      .mockImplementation((line: string) => void printed.push(line));
    try {
      const code = await inspectCommand(["pdf-analyze", "--endpoint", endpoint]);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const output = printed.join("\n");
    expect(output).toContain("pdf-analyze");
    expect(output).toContain("all to /tmp/page-*.pdf");
  });
});
