import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, runToEnd, startHarness } from "./harness.ts";

describe("execution through the SDK", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      functions: { double: (event) => ({ value: (event as { value: number }).value * 2 }) },
    });
  });
  afterAll(async () => harness.close());

  it("runs a Pass state", async () => {
    const result = await runToEnd(harness, {
      StartAt: "P",
      States: { P: { Type: "Pass", Result: { a: 1 }, End: true } },
    });
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual({ a: 1 });
  });

  it("runs a Lambda task", async () => {
    const result = await runToEnd(
      harness,
      {
        StartAt: "T",
        States: {
          T: {
            Type: "Task",
            Resource: "arn:aws:lambda:us-east-1:123456789012:function:double",
            End: true,
          },
        },
      },
      { value: 21 },
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(JSON.parse(result.output as string)).toEqual({ value: 42 });
  });
});
