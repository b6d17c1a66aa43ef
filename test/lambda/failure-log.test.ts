import {
  CreateFunctionCommand,
  InvokeCommand,
  waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { createZip } from "../../simulator/lambda/api/zip-archive.ts";
import {
  type LogLine,
  makeProject,
  type ProjectSimulator,
  startInProject,
} from "./support/project.ts";

// Fails when the event sets `fail`, with a two-line message.
const HANDLER = `exports.handler = async (event) => {
  if (event.fail) throw new Error("disk full at page " + event.page + "\\nsecond line of detail");
  return "ok";
};
`;

let running: ProjectSimulator | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

function failureLines(log: LogLine[]): LogLine[] {
  return log.filter((line) => line.msg === "invocation failed");
}

describe("simulator log of failed invocations", () => {
  it("records each failure once at info level", async () => {
    running = await startInProject(makeProject("failure-log", {}));
    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "flaky",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Code: { ZipFile: createZip({ "index.js": HANDLER }) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
      { FunctionName: "flaky" },
    );

    const responses = [];
    for (const event of [{ fail: true, page: 1 }, { fail: false }, { fail: true, page: 3 }]) {
      responses.push(
        await running.lambda.send(
          new InvokeCommand({ FunctionName: "flaky", Payload: JSON.stringify(event) }),
        ),
      );
    }
    const records = running.simulator.lambda.invocations("flaky");
    const lines = failureLines(running.log);

    expect(responses.map((response) => response.FunctionError)).toEqual([
      "Unhandled",
      undefined,
      "Unhandled",
    ]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      functionName: "flaky",
      environmentId: records[0].environmentId,
      invocationNumber: 1,
      requestId: records[0].requestId,
      errorType: "Error",
      errorMessage: "disk full at page 1",
    });
    expect(lines[1]).toMatchObject({
      invocationNumber: 3,
      requestId: records[2].requestId,
      errorMessage: "disk full at page 3",
    });
  });

  it("records a timeout", async () => {
    running = await startInProject(makeProject("timeout-log", {}));
    await running.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "slow",
        Runtime: "nodejs20.x",
        Role: "arn:aws:iam::000000000000:role/lambda-role",
        Handler: "index.handler",
        Timeout: 1,
        Code: {
          ZipFile: createZip({
            "index.js":
              "exports.handler = () => new Promise((resolve) => setTimeout(resolve, 5000));\n",
          }),
        },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: running.lambda, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
      { FunctionName: "slow" },
    );

    const response = await running.lambda.send(new InvokeCommand({ FunctionName: "slow" }));
    const lines = failureLines(running.log);

    expect(response.FunctionError).toBe("Unhandled");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ functionName: "slow", outcome: "timeout" });
    expect(lines[0].errorType).toBe("Sandbox.Timedout");
  });
});
