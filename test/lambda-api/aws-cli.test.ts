import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { CreateFunctionCommand } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_FIXTURES, type Stack, startStack } from "./support/stack.ts";

const run = promisify(execFile);

/** Finds the AWS CLI: Debian's v2 package (`apt-get install -y awscli`) first, else `aws` on PATH. */
function findAwsCli(): string | undefined {
  if (existsSync("/usr/bin/aws")) return "/usr/bin/aws";
  try {
    return execFileSync("sh", ["-c", "command -v aws"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const AWS = findAwsCli();
if (!AWS)
  console.warn(
    "Skipping the AWS CLI tests: no `aws` command. Install it with `apt-get install -y awscli`.",
  );

let stack: Stack;

async function aws(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(
      AWS as string,
      ["--endpoint-url", stack.endpoint, "--output", "json", ...args],
      {
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: stack.dataDir,
          AWS_ACCESS_KEY_ID: "cli-key",
          AWS_SECRET_ACCESS_KEY: "cli-secret",
          AWS_DEFAULT_REGION: "us-east-1",
          AWS_PAGER: "",
          // Credentials come from the variables above; never ask an instance metadata service.
          AWS_EC2_METADATA_DISABLED: "true",
          AWS_CONFIG_FILE: path.join(stack.dataDir, "no-aws-config"),
          AWS_SHARED_CREDENTIALS_FILE: path.join(stack.dataDir, "no-aws-credentials"),
        },
      },
    );
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failure = error as { stdout: string; stderr: string; code: number };
    return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code };
  }
}

describe.skipIf(!AWS)("AWS CLI against the Lambda API", () => {
  beforeAll(async () => {
    stack = await startStack();
    await stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "cli-echo",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { S3Bucket: "hot-reload", S3Key: path.join(FUNCTION_FIXTURES, "api-echo") },
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("invokes a function with lambda invoke", async () => {
    const outFile = path.join(stack.dataDir, "cli-out.json");

    const result = await aws([
      "lambda",
      "invoke",
      "--function-name",
      "cli-echo",
      "--cli-binary-format",
      "raw-in-base64-out",
      "--payload",
      '{"from":"cli"}',
      outFile,
    ]);

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      StatusCode: 200,
      ExecutedVersion: "$LATEST",
    });
    expect(JSON.parse(readFileSync(outFile, "utf8")).event).toEqual({ from: "cli" });
  });

  it("updates the configuration with update-function-configuration", async () => {
    const update = await aws([
      "lambda",
      "update-function-configuration",
      "--function-name",
      "cli-echo",
      "--environment",
      "Variables={MARK=from-cli}",
    ]);
    const outFile = path.join(stack.dataDir, "cli-after.json");
    const invoke = await aws(["lambda", "invoke", "--function-name", "cli-echo", outFile]);

    expect(update.code, update.stderr).toBe(0);
    expect(JSON.parse(update.stdout).Environment.Variables.MARK).toBe("from-cli");
    expect(invoke.code, invoke.stderr).toBe(0);
    expect(JSON.parse(readFileSync(outFile, "utf8")).mark, readFileSync(outFile, "utf8")).toBe(
      "from-cli",
    );
  });

  it("prints the AWS error name for an unknown function", async () => {
    const result = await aws(["lambda", "get-function", "--function-name", "nobody"]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ResourceNotFoundException/);
  });
});
