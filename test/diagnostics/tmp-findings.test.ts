/**
 * /tmp findings through a real simulator on each backend: a function that
 * leaves a file in /tmp per invocation and keeps a deleted one open gets
 * findings that name both patterns. The live route, `warmstate inspect` and
 * the run report print the same sentences.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { inspectCommand } from "../../simulator/commands/inspect-command.ts";
import type { EnvironmentFindings } from "../../simulator/diagnostics/leak-findings.ts";
import { buildReport } from "../../simulator/report/build-report.ts";
import { renderHtmlReport } from "../../simulator/report/html-report.ts";
import type {
  EnvironmentRecord,
  InvocationSummary,
  RunData,
} from "../../simulator/report/run-data.ts";
import type { BackendName } from "../../simulator/sandbox/backend.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";
import { findEngineProblem } from "../sandbox/docker-harness.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FUNCTION_DIR = path.join(REPO, "test/fixtures/diagnostics/tmp-writer");
const FUNCTION_NAME = "tmp-writer";
// Ten probes are the fewest that give a leak verdict.
const INVOCATIONS = 12;

const PAGE_MESSAGE =
  "+1 file (+64 KB) per invocation in /tmp, named page-*.png; 12 files, 0.75 MB in all.";
const DELETED_MESSAGE =
  "+1 deleted file still open per invocation (+32 KB), /tmp/scratch-*.tmp (deleted); 12 held, 0.38 MB in all.";
const HELD_MESSAGE =
  "0.4 MB of /tmp is held by deleted files that are still open: 12 files named /tmp/scratch-*.tmp (deleted).";

interface Diagnostics {
  environments: Array<{ environmentId: string; status: string; findings: EnvironmentFindings }>;
  leaking: number;
}

const engineProblem = await findEngineProblem(new Dockerode());
const backends: Array<{ backend: BackendName; skip?: string }> = [
  { backend: "process" },
  { backend: "docker", skip: engineProblem },
];

for (const { backend, skip } of backends) {
  describe.skipIf(skip !== undefined)(
    `/tmp findings on the ${backend} backend${skip ? ` (skipped: ${skip})` : ""}`,
    () => {
      let dataDir: string;
      let simulator: Simulator;

      beforeAll(async () => {
        // Under the repository: a process sandbox gets a private /tmp and must still read the data folder.
        const parent = path.join(REPO, ".warmstate", "test-runs");
        mkdirSync(parent, { recursive: true });
        dataDir = mkdtempSync(path.join(parent, `tmp-findings-${backend}-`));
        chmodSync(dataDir, 0o755);
        simulator = await startSimulator({
          backend,
          dataDir,
          logLevel: process.env.WARMSTATE_TEST_LOG ?? "silent",
        });

        const lambda = new LambdaClient({
          endpoint: simulator.endpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "test", secretAccessKey: "test" },
          maxAttempts: 1,
        });
        await lambda.send(
          new CreateFunctionCommand({
            FunctionName: FUNCTION_NAME,
            Runtime: "nodejs20.x",
            Role: "arn:aws:iam::000000000000:role/tmp-writer",
            Handler: "index.handler",
            // The simulator's local-folder code option: the folder is used in place.
            Code: { S3Bucket: "hot-reload", S3Key: FUNCTION_DIR },
            Environment: {
              Variables: {
                PAGE_BYTES: String(64 * 1024),
                HOLD_DELETED: "true",
                SCRATCH_BYTES: String(32 * 1024),
              },
            },
          }),
        );
        for (let index = 0; index < INVOCATIONS; index++) {
          const output = await lambda.send(new InvokeCommand({ FunctionName: FUNCTION_NAME }));
          if (output.FunctionError)
            throw new Error(
              `Invocation ${index + 1} failed: ${Buffer.from(output.Payload ?? []).toString()}`,
            );
        }
        lambda.destroy();
      }, 180_000);

      afterAll(async () => {
        await simulator?.close();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      });

      async function liveFindings(): Promise<EnvironmentFindings> {
        const response = await fetch(
          `${simulator.endpoint}/_warmstate/diagnostics?function=${FUNCTION_NAME}`,
        );
        expect(response.status).toBe(200);
        const body = (await response.json()) as Diagnostics;
        expect(body.environments).toHaveLength(1);
        return body.environments[0].findings;
      }

      it("names the pattern of new files", async () => {
        const findings = await liveFindings();

        const pages = findings.tmpGrowth.find((group) => group.pattern === "/tmp/page-*.png");
        expect(pages).toMatchObject({
          deleted: false,
          filesAdded: INVOCATIONS - 1,
          files: INVOCATIONS,
          leaking: true,
        });
        expect(findings.messages).toContain(PAGE_MESSAGE);
      });

      it("shows deleted files as still open", async () => {
        const findings = await liveFindings();

        const scratch = findings.tmpGrowth.find((group) => group.pattern === "/tmp/scratch-*.tmp");
        expect(scratch).toMatchObject({
          deleted: true,
          files: INVOCATIONS,
          bytes: INVOCATIONS * 32 * 1024,
        });
        expect(findings.tmpDeletedOpenBytes).toBe(INVOCATIONS * 32 * 1024);
        expect(findings.messages).toContain(DELETED_MESSAGE);
        expect(findings.messages.join("\n")).toContain(HELD_MESSAGE);
      });

      it("reports the current status", async () => {
        // The response reaches the client before the environment is frozen and released.
        let status = "";
        for (let attempt = 0; attempt < 50 && status !== "idle"; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
          const response = await fetch(
            `${simulator.endpoint}/_warmstate/diagnostics?function=${FUNCTION_NAME}`,
          );
          status = ((await response.json()) as Diagnostics).environments[0].status;
        }

        expect(status).toBe("idle");
      });

      it("prints the findings from inspect", async () => {
        const printed: string[] = [];
        const spy = vi
          .spyOn(console, "log")
          .mockImplementation((line: string) => void printed.push(line));
        let code: number;
        try {
          code = await inspectCommand([FUNCTION_NAME, "--endpoint", simulator.endpoint]);
        } finally {
          spy.mockRestore();
        }
        const output = printed.join("\n");

        expect(code).toBe(0);
        expect(output).toContain(PAGE_MESSAGE);
        expect(output).toContain(DELETED_MESSAGE);
      });

      it("puts the findings in the report", async () => {
        const response = await fetch(
          `${simulator.endpoint}/_warmstate/diagnostics/series?function=${FUNCTION_NAME}`,
        );
        const series = (await response.json()) as {
          environments: EnvironmentRecord[];
          invocations: InvocationSummary[];
        };
        const run: RunData = {
          scenario: { name: "tmp-findings", description: "direct invocations", seed: 1 },
          backend,
          speed: "1",
          wallStartedAt: new Date().toISOString(),
          wallMs: 1_000,
          simulatedStartedAt: series.invocations[0].startedAt,
          simulatedEndedAt: series.invocations[series.invocations.length - 1].startedAt,
          interrupted: false,
          invocations: series.invocations,
          environments: series.environments,
          executions: [],
          driverErrors: [],
        };

        const report = buildReport(run);
        const html = renderHtmlReport(report, run.invocations);
        const findingsSection =
          /<h2>Leak findings<\/h2>.*?<\/ul><\/li><\/ul>/s.exec(html)?.[0] ?? "";

        expect(report.findings).toHaveLength(1);
        expect(report.findings[0].messages).toEqual((await liveFindings()).messages);
        expect(findingsSection).toContain(PAGE_MESSAGE);
        expect(findingsSection).toContain(DELETED_MESSAGE);
      });
    },
  );
}
