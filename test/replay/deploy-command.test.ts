import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePdf } from "../../functions/shared/generate-pdf.mjs";
import { clientConfig } from "../../simulator/replay/deploy.ts";
import {
  PIPELINE_FUNCTIONS,
  PIPELINE_STATE_MACHINES,
} from "../../simulator/replay/scenario-schema.ts";
import { type Simulator, startSimulator } from "../../simulator/simulator.ts";

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, "..", "..");
const BIN = path.join(REPO, "bin", "warmstate.js");
const SDK_WARNING = "NodeVersionSupportWarning";

let folder: string;
let simulator: Simulator;
let lambda: LambdaClient;
let sfn: SFNClient;
let s3: S3Client;
let deployOutput: string;

/** Runs the `warmstate` CLI as a user would and returns its standard output. */
async function warmstate(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { cwd: REPO, timeout: 120_000 });
  return stdout;
}

/** Returns every log line the simulator stored for a function, through the admin API. */
async function logLines(functionName: string): Promise<string[]> {
  const response = await fetch(new URL(`/_warmstate/logs/${functionName}`, simulator.endpoint));
  const body = (await response.json()) as { events: { message: string }[] };
  return body.events.map((event) => event.message);
}

beforeAll(async () => {
  const parent = path.join(REPO, ".warmstate", "test-runs");
  mkdirSync(parent, { recursive: true });
  folder = mkdtempSync(path.join(parent, "deploy-"));
  chmodSync(folder, 0o755);
  simulator = await startSimulator({ dataDir: folder, logLevel: "silent" });
  const config = clientConfig(simulator.endpoint);
  lambda = new LambdaClient(config);
  sfn = new SFNClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });

  deployOutput = await warmstate("deploy", "--endpoint", simulator.endpoint);
}, 120_000);

afterAll(async () => {
  lambda?.destroy();
  sfn?.destroy();
  s3?.destroy();
  await simulator?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("deploy help", () => {
  it("lists the deployed state machines", async () => {
    const help = await warmstate("deploy", "--help");
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    const deployed = (listed.stateMachines ?? []).map((machine) => machine.name).sort();

    const named = [...new Set(help.match(/\bpdf-batch[a-z-]*/g))].sort();

    expect(named).toEqual([...PIPELINE_STATE_MACHINES].sort());
    expect(deployed).toEqual([...PIPELINE_STATE_MACHINES].sort());
  });

  it("lists the deployed functions", async () => {
    const help = await warmstate("deploy", "--help");

    for (const name of PIPELINE_FUNCTIONS) expect(help).toContain(name);
  });

  it("shows the input shape", async () => {
    const help = await warmstate("deploy", "--help");

    expect(help).toContain(
      '{"bucket":"warmstate-pdf-pipeline","documents":[{"key":"in/example.pdf"}',
    );
  });
});

describe("deploy examples", () => {
  it("start a succeeding execution", async () => {
    const upload = deployOutput.match(/ s3 cp example\.pdf s3:\/\/([^/\s]+)\/(\S+)/);
    const starts = [
      ...deployOutput.matchAll(
        /stepfunctions start-execution --state-machine-arn (\S+) --input '([^']+)'/g,
      ),
    ];
    expect(upload).not.toBeNull();
    expect(starts.map(([, arn]) => arn.split(":").at(-1)).sort()).toEqual(
      [...PIPELINE_STATE_MACHINES].sort(),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: upload?.[1],
        Key: upload?.[2],
        Body: await generatePdf({ pages: 1, seed: 3 }),
      }),
    );

    for (const [, stateMachineArn, input] of starts) {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, input }),
      );
      let execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      for (let poll = 0; execution.status === "RUNNING" && poll < 600; poll++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      }

      expect(execution.status, `${stateMachineArn}: ${execution.error} ${execution.cause}`).toBe(
        "SUCCEEDED",
      );
    }
  }, 180_000);
});

describe("function log on cold start", () => {
  it("has no SDK version warning", async () => {
    for (const name of PIPELINE_FUNCTIONS) {
      const lines = await logLines(name);

      expect(
        lines.some((line) => line.startsWith("START RequestId:")),
        name,
      ).toBe(true);
      expect(
        lines.filter((line) => line.includes(SDK_WARNING)),
        name,
      ).toEqual([]);
    }
  });

  // The SDK warns only below Node.js 22, so the control case needs Node.js 20 or 21.
  const nodeMajor = Number(process.versions.node.split(".")[0]);
  it.runIf(nodeMajor < 22)(
    "shows the warning when re-enabled",
    async () => {
      const current = await lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: "pdf-summarize" }),
      );
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: "pdf-summarize",
          Environment: {
            Variables: {
              ...current.Environment?.Variables,
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false",
            },
          },
        }),
      );

      // A configuration change recycles the environments, so this invocation is a cold start.
      await lambda.send(
        new InvokeCommand({
          FunctionName: "pdf-summarize",
          Payload: Buffer.from(JSON.stringify({ action: "report", documents: [] })),
        }),
      );

      const lines = await logLines("pdf-summarize");
      expect(lines.filter((line) => line.includes(SDK_WARNING))).toHaveLength(1);
    },
    60_000,
  );
});

describe("deploy again", () => {
  it("updates the deployed pipeline", async () => {
    // The update path waits out each function's InProgress update before the next one.
    const output = await warmstate("deploy", "--endpoint", simulator.endpoint);
    const summarize = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: "pdf-summarize" }),
    );

    expect(output).toContain(`Deployed to ${simulator.endpoint}:`);
    expect(summarize.Environment?.Variables?.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe(
      "true",
    );
  }, 120_000);
});
