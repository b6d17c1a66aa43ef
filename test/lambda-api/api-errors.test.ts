import { EventEmitter } from "node:events";
import { rmSync } from "node:fs";
import {
  CreateFunctionCommand,
  InvalidParameterValueException,
  InvokeCommand,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RealClock } from "../../simulator/clock.ts";
import { lambdaApiPlugin } from "../../simulator/lambda/api/plugin.ts";
import { FunctionRegistry } from "../../simulator/lambda/function-registry.ts";
import { createLogger } from "../../simulator/logger.ts";
import { FUNCTION_FIXTURES, makeDataDir, type Stack, startStack } from "./support/stack.ts";

const ROLE = "arn:aws:iam::000000000000:role/lambda-role";
const ECHO = { S3Bucket: "hot-reload", S3Key: `${FUNCTION_FIXTURES}/api-echo` };

let stack: Stack;

/** Sends a raw request to the edge server, as a client without the SDK would. */
async function raw(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${stack.endpoint}${path}`, {
    method,
    body: typeof body === "string" || body === undefined ? body : new Uint8Array(body),
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await response.text();
  return {
    status: response.status,
    errorType: response.headers.get("x-amzn-errortype"),
    requestId: response.headers.get("x-amzn-requestid"),
    retryAfter: response.headers.get("retry-after"),
    body: text ? JSON.parse(text) : undefined,
  };
}

beforeAll(async () => {
  stack = await startStack();
  await stack.lambda.send(
    new CreateFunctionCommand({
      FunctionName: "echo",
      Runtime: "nodejs20.x",
      Role: ROLE,
      Handler: "index.handler",
      Code: ECHO,
    }),
  );
});

afterAll(async () => {
  await stack?.close();
});

describe("ResourceNotFoundException", () => {
  it("is raised for an unknown function through the SDK", async () => {
    const call = stack.lambda.send(new InvokeCommand({ FunctionName: "missing" }));

    await expect(call).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(call).rejects.toThrow(
      "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing",
    );
  });

  it("has status 404, the error type header and a User body", async () => {
    const response = await raw("GET", "/2015-03-31/functions/missing");

    expect(response.status).toBe(404);
    expect(response.errorType).toBe("ResourceNotFoundException");
    expect(response.body.Type).toBe("User");
    expect(response.body.message).toMatch(/function:missing/);
    expect(response.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is raised for an unknown qualifier", async () => {
    const call = stack.lambda.send(new InvokeCommand({ FunctionName: "echo", Qualifier: "7" }));

    await expect(call).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(call).rejects.toThrow(/function:echo:7/);
  });
});

describe("ResourceConflictException", () => {
  it("is raised when the function name exists", async () => {
    const response = await raw(
      "POST",
      "/2015-03-31/functions",
      JSON.stringify({
        FunctionName: "echo",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
      }),
    );

    expect(response.status).toBe(409);
    expect(response.errorType).toBe("ResourceConflictException");
    expect(response.body.message).toBe("Function already exist: echo");
  });

  it("reaches the SDK as its exception class", async () => {
    const call = stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "echo",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
      }),
    );

    await expect(call).rejects.toBeInstanceOf(ResourceConflictException);
  });
});

describe("InvalidParameterValueException", () => {
  it("names MemorySize when it is out of range", async () => {
    const call = stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "tiny",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
        MemorySize: 64,
      }),
    );

    await expect(call).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(call).rejects.toThrow(/MemorySize/);
    await expect(call).rejects.toThrow(/received 64/);
    await expect(call).rejects.toThrow(/from 128 to 10240 MB/);
  });

  it("names a field of the wrong type", async () => {
    const response = await raw(
      "POST",
      "/2015-03-31/functions",
      JSON.stringify({
        FunctionName: "typed",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
        Timeout: "ten",
      }),
    );

    expect(response.status).toBe(400);
    expect(response.errorType).toBe("InvalidParameterValueException");
    expect(response.body.message).toMatch(/Timeout/);
  });

  it("rejects an unsupported runtime", async () => {
    const call = stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "old",
        Runtime: "nodejs8.10",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
      }),
    );

    await expect(call).rejects.toThrow(/Runtime/);
    await expect(call).rejects.toThrow(/received "nodejs8.10"/);
    await expect(call).rejects.toThrow(/nodejs20.x/);
  });

  it("rejects an unknown simulator setting tag", async () => {
    const call = stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "misspelled",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
        Tags: { "warmstate:keepalive": "5" },
      }),
    );

    await expect(call).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(call).rejects.toThrow(/warmstate:keepalive/);
    await expect(call).rejects.toThrow(/warmstate:keep-alive-seconds/);
  });

  it("rejects a malformed simulator setting tag", async () => {
    const call = stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "tagged",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
        Tags: { "warmstate:keep-alive-seconds": "soon" },
      }),
    );

    await expect(call).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(call).rejects.toThrow(/warmstate:keep-alive-seconds/);
  });

  it("rejects MaximumRetryAttempts above 2", async () => {
    const call = stack.lambda.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: "echo", MaximumRetryAttempts: 3 }),
    );

    await expect(call).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(call).rejects.toThrow(/MaximumRetryAttempts/);
  });

  it("rejects reserving concurrency below the unreserved minimum", async () => {
    const call = stack.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: "echo",
        ReservedConcurrentExecutions: 950,
      }),
    );

    await expect(call).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(call).rejects.toThrow(/minimum value of \[100\]/);
  });
});

describe("InvalidRequestContentException", () => {
  it("is raised for a malformed JSON body", async () => {
    const response = await raw("POST", "/2015-03-31/functions", '{"FunctionName": "broken",');

    expect(response.status).toBe(400);
    expect(response.errorType).toBe("InvalidRequestContentException");
    expect(response.body.message).toMatch(/Could not parse request body into json/);
  });

  it("is raised for an Invoke payload that is not JSON", async () => {
    const response = await raw("POST", "/2015-03-31/functions/echo/invocations", "not json");

    expect(response.status).toBe(400);
    expect(response.errorType).toBe("InvalidRequestContentException");
  });
});

describe("RequestEntityTooLargeException", () => {
  it("is raised for a synchronous payload over 6 MB", async () => {
    const payload = Buffer.from(JSON.stringify({ data: "x".repeat(6 * 1024 * 1024) }));

    const response = await raw("POST", "/2015-03-31/functions/echo/invocations", payload);

    expect(response.status).toBe(413);
    expect(response.errorType).toBe("RequestEntityTooLargeException");
    expect(response.body.message).toBe(
      "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    );
  });

  it("is raised for an Event payload over 1 MB", async () => {
    const payload = Buffer.from(JSON.stringify({ data: "x".repeat(1024 * 1024) }));

    const response = await raw("POST", "/2015-03-31/functions/echo/invocations", payload, {
      "x-amz-invocation-type": "Event",
    });

    expect(response.status).toBe(413);
    expect(response.body.message).toMatch(
      /too large for the Event invocation type \(limit 1048576 bytes\)/,
    );
  });

  it("leaves the server serving the next request", async () => {
    await raw(
      "POST",
      "/2015-03-31/functions/echo/invocations",
      Buffer.alloc(7 * 1024 * 1024, 0x20),
    );

    const output = await stack.lambda.send(
      new InvokeCommand({ FunctionName: "echo", Payload: Buffer.from("{}") }),
    );

    expect(output.StatusCode).toBe(200);
  });
});

describe("TooManyRequestsException", () => {
  it("is raised with its Reason when reserved concurrency is zero", async () => {
    await stack.lambda.send(
      new CreateFunctionCommand({
        FunctionName: "throttled",
        Runtime: "nodejs20.x",
        Role: ROLE,
        Handler: "index.handler",
        Code: ECHO,
      }),
    );
    await stack.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: "throttled",
        ReservedConcurrentExecutions: 0,
      }),
    );

    const response = await raw("POST", "/2015-03-31/functions/throttled/invocations", "{}");
    const call = stack.lambda.send(
      new InvokeCommand({ FunctionName: "throttled", Payload: Buffer.from("{}") }),
    );

    expect(response.status).toBe(429);
    expect(response.errorType).toBe("TooManyRequestsException");
    expect(response.body.Reason).toBe("ReservedFunctionConcurrentInvocationLimitExceeded");
    await expect(call).rejects.toBeInstanceOf(TooManyRequestsException);
  });
});

describe("other requests", () => {
  it("answers an unknown path with UnknownOperationException", async () => {
    const response = await raw("GET", "/2015-03-31/no-such-operation");

    expect(response.status).toBe(404);
    expect(response.errorType).toBe("UnknownOperationException");
  });

  it("answers DryRun with 204 after validation", async () => {
    const dryRun = await raw("POST", "/2015-03-31/functions/echo/invocations", "{}", {
      "x-amz-invocation-type": "DryRun",
    });
    const missing = await raw("POST", "/2015-03-31/functions/missing/invocations", "{}", {
      "x-amz-invocation-type": "DryRun",
    });

    expect(dryRun.status).toBe(204);
    expect(missing.status).toBe(404);
  });

  it("rejects an unknown invocation type", async () => {
    const response = await raw("POST", "/2015-03-31/functions/echo/invocations", "{}", {
      "x-amz-invocation-type": "Later",
    });

    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/X-Amz-Invocation-Type/);
  });
});

describe("ServiceException", () => {
  it("is sent when the service fails unexpectedly", async () => {
    const dataDir = makeDataDir("service-exception");
    const registry = new FunctionRegistry({
      dataDir,
      clock: new RealClock(),
      logger: createLogger({ level: "silent" }),
      transitionMs: 0,
    });
    const failing = {
      registry,
      events: new EventEmitter(),
      environments: () => [],
      invocations: () => [],
      invoke: async () => {
        throw new Error("disk on fire");
      },
    };
    const app = Fastify({ logger: false });
    await app.register(lambdaApiPlugin, { service: failing });
    await registry.createFunction({
      functionName: "fn",
      runtime: "nodejs20.x",
      handler: "index.handler",
      code: { hotReloadDir: ECHO.S3Key },
    });

    const response = await app.inject({
      method: "POST",
      url: "/2015-03-31/functions/fn/invocations",
      payload: "{}",
    });

    expect(response.statusCode).toBe(500);
    expect(response.headers["x-amzn-errortype"]).toBe("ServiceException");
    expect(response.json().Type).toBe("Service");
    await app.close();
    registry.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
