import {
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  InvalidParameterValueException,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZip } from "../../simulator/lambda/api/zip-archive.ts";
import { makeProject, type ProjectSimulator, startInProject } from "./support/project.ts";

let running: ProjectSimulator;

beforeAll(async () => {
  running = await startInProject(makeProject("validation", {}));
});

afterAll(async () => {
  await running.close();
});

function createInput(overrides: Partial<CreateFunctionCommandInput>): CreateFunctionCommandInput {
  return {
    FunctionName: "validated",
    Runtime: "nodejs20.x",
    Role: "arn:aws:iam::000000000000:role/lambda-role",
    Handler: "index.handler",
    Code: { ZipFile: createZip({ "index.js": "exports.handler = async () => 1;\n" }) },
    ...overrides,
  };
}

async function rejectionOf(request: Promise<unknown>): Promise<Error> {
  const error = await request.then(
    () => undefined,
    (thrown: Error) => thrown,
  );
  if (!error) throw new Error("expected the request to be rejected, but it succeeded");
  return error;
}

describe("CreateFunction validation messages", () => {
  it("names a fractional MemorySize and the range", async () => {
    const error = await rejectionOf(
      running.lambda.send(new CreateFunctionCommand(createInput({ MemorySize: 129.5 }))),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe(
      "Invalid value for MemorySize (received 129.5): must be a whole number of MB from 128 to 10240.",
    );
  });

  it("names a missing Handler and its form", async () => {
    const error = await rejectionOf(
      running.lambda.send(new CreateFunctionCommand(createInput({ Handler: undefined }))),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toMatch(/^Missing value for Handler: /);
    expect(error.message).toContain("Zip package type needs a handler, such as index.handler");
  });

  it("gives the size of oversized environment variables", async () => {
    const variables = { BIG: "x".repeat(4_200) };

    const error = await rejectionOf(
      running.lambda.send(
        new CreateFunctionCommand(createInput({ Environment: { Variables: variables } })),
      ),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe(
      "Invalid value for Environment.Variables: keys and values must total at most 4096 bytes, but they total 4203 bytes.",
    );
  });

  it("names a fractional ephemeral storage size and the range", async () => {
    const error = await rejectionOf(
      running.lambda.send(
        new CreateFunctionCommand(createInput({ EphemeralStorage: { Size: 600.5 } })),
      ),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe(
      "Invalid value for EphemeralStorage.Size (received 600.5): must be a whole number of MB from 512 to 10240.",
    );
  });
});

describe("UpdateFunctionConfiguration validation messages", () => {
  it("names a fractional Timeout and the range", async () => {
    await running.lambda.send(new CreateFunctionCommand(createInput({ FunctionName: "updated" })));
    await waitUntilFunctionActiveV2(
      { client: running.lambda, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
      { FunctionName: "updated" },
    );

    const error = await rejectionOf(
      running.lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: "updated", Timeout: 2.5 }),
      ),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe(
      "Invalid value for Timeout (received 2.5): must be a whole number of seconds from 1 to 900.",
    );
  });

  it("names an empty Handler", async () => {
    const error = await rejectionOf(
      running.lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: "updated", Handler: "" }),
      ),
    );

    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe('Invalid value for Handler (received ""): must not be empty.');
  });
});
