/**
 * The operation list: ValidateStateMachineDefinition, and the error an SDK
 * or CLI user gets for an operation Warmstate does not implement.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
 */
import {
  ListStateMachineVersionsCommand,
  ValidateStateMachineDefinitionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPPORTED_OPERATIONS } from "../../simulator/stepfunctions/api/plugin.ts";
import { type Harness, startHarness } from "./harness.ts";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.close();
});

const VALID = JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } });

describe("ValidateStateMachineDefinition", () => {
  it("returns OK for a valid definition", async () => {
    const result = await harness.client.send(
      new ValidateStateMachineDefinitionCommand({ definition: VALID }),
    );

    expect(result.result).toBe("OK");
    expect(result.diagnostics).toEqual([]);
    expect(result.truncated).toBe(false);
  });

  it("lists the problems of an invalid definition", async () => {
    const definition = JSON.stringify({
      StartAt: "Missing",
      States: { P: { Type: "Pass", Next: "Nowhere" } },
    });
    const result = await harness.client.send(
      new ValidateStateMachineDefinitionCommand({ definition }),
    );

    expect(result.result).toBe("FAIL");
    expect(result.diagnostics?.length).toBeGreaterThanOrEqual(2);
    for (const diagnostic of result.diagnostics ?? []) {
      expect(diagnostic.severity).toBe("ERROR");
      expect(diagnostic.code).toMatch(/^[A-Z_]+$/);
      expect(diagnostic.message).not.toBe("");
      expect(diagnostic.location).toMatch(/^\//);
    }
    expect(result.diagnostics?.map((diagnostic) => diagnostic.location)).toContain("/StartAt");
  });

  it("reports a JSON syntax error", async () => {
    const result = await harness.client.send(
      new ValidateStateMachineDefinitionCommand({ definition: "{ not json" }),
    );

    expect(result.result).toBe("FAIL");
    expect(result.diagnostics?.[0].code).toBe("INVALID_JSON_DESCRIPTION");
    expect(result.diagnostics?.[0].location).toBeUndefined();
  });

  it("truncates to maxResults", async () => {
    const definition = JSON.stringify({
      StartAt: "A",
      States: {
        A: { Type: "Pass", Next: "X" },
        B: { Type: "Pass", Next: "Y" },
        C: { Type: "Pass", Next: "Z" },
      },
    });
    const result = await harness.client.send(
      new ValidateStateMachineDefinitionCommand({ definition, maxResults: 1 }),
    );

    expect(result.result).toBe("FAIL");
    expect(result.diagnostics).toHaveLength(1);
    expect(result.truncated).toBe(true);
  });

  it("agrees with CreateStateMachine", async () => {
    const definition = JSON.stringify({ StartAt: "P", States: { P: { Type: "Teleport" } } });
    const validated = await harness.client.send(
      new ValidateStateMachineDefinitionCommand({ definition }),
    );
    const created = harness.service.createStateMachine({
      name: "rejected",
      definition,
      roleArn: "arn:aws:iam::123456789012:role/StepFunctionsRole",
    });

    expect(validated.result).toBe("FAIL");
    await expect(created).rejects.toMatchObject({ name: "InvalidDefinition" });
  });
});

describe("unsupported operation", () => {
  it("names the operation and the supported ones", async () => {
    const error = await harness.client
      .send(
        new ListStateMachineVersionsCommand({
          stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        }),
      )
      .catch((caught: Error) => caught);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("UnknownOperationException");
    expect((error as Error).message).toContain("'ListStateMachineVersions' is not supported");
    expect((error as Error).message).toContain("DescribeMapRun");
    expect((error as Error).message).toContain("docs/stepfunctions.md");
    expect((error as Error).message).not.toContain("X-Amz-Target");
  });

  it("lists every operation in the docs", async () => {
    const { readFile } = await import("node:fs/promises");
    const docs = await readFile(new URL("../../docs/stepfunctions.md", import.meta.url), "utf8");

    for (const operation of SUPPORTED_OPERATIONS) expect(docs).toContain(`\`${operation}\``);
  });
});
