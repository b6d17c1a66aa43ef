import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_RESPONSE_BYTES } from "../../simulator/lambda/invocation-failures.ts";
import { RuntimeApiServer } from "../../simulator/lambda/runtime-api/runtime-api-server.ts";
import { platformErrorType } from "../../simulator/lambda/runtime-api/runtime-api-wire.ts";
import { callRuntimeApi, FUNCTION_ARN, invocation } from "./runtime-harness.ts";

const NEXT = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR = "/2018-06-01/runtime/init/error";
const responsePath = (requestId: string) => `/2018-06-01/runtime/invocation/${requestId}/response`;
const errorPath = (requestId: string) => `/2018-06-01/runtime/invocation/${requestId}/error`;

let api: RuntimeApiServer;
let base: string;
const agents: http.Agent[] = [];

beforeEach(async () => {
  api = await RuntimeApiServer.start({});
  base = `http://${api.host}:${api.port}`;
});

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await api.close();
});

/** Creates a keep-alive agent with one socket, the way one runtime process connects. */
function processConnection(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

/** Marks a promise as handled, so a rejection at close does not fail the run; it can still be awaited. */
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Takes the first event: the runtime's `next` after init. */
async function takeEvent(payload: unknown = { n: 1 }) {
  const event = invocation(payload);
  const outcome = background(api.invoke(event));
  const next = await fetch(`${base}${NEXT}`);
  await next.arrayBuffer();
  return { event, outcome, next };
}

describe("RuntimeApiServer start", () => {
  it("listens on a loopback port", () => {
    expect(api.host).toBe("127.0.0.1");
    expect(api.port).toBeGreaterThan(0);
  });
});

describe("next invocation", () => {
  it("resolves waitForInit with ready at the first next", async () => {
    const init = api.waitForInit();
    const next = fetch(`${base}${NEXT}`);

    expect(await init).toEqual({ kind: "ready" });

    background(api.invoke(invocation({})));
    await (await next).arrayBuffer();
  });

  it("sends the event with every Lambda-Runtime header", async () => {
    const event = invocation(
      { hello: "world" },
      { clientContext: '{"custom":{"k":"v"}}', cognitoIdentity: '{"cognitoIdentityId":"id-1"}' },
    );
    background(api.invoke(event));

    const next = await fetch(`${base}${NEXT}`);

    expect(next.status).toBe(200);
    expect(await next.json()).toEqual({ hello: "world" });
    expect(next.headers.get("lambda-runtime-aws-request-id")).toBe(event.requestId);
    expect(next.headers.get("lambda-runtime-deadline-ms")).toBe(String(event.deadlineMs));
    expect(next.headers.get("lambda-runtime-invoked-function-arn")).toBe(FUNCTION_ARN);
    expect(next.headers.get("lambda-runtime-trace-id")).toBe(event.traceId);
    expect(next.headers.get("lambda-runtime-client-context")).toBe('{"custom":{"k":"v"}}');
    expect(next.headers.get("lambda-runtime-cognito-identity")).toBe(
      '{"cognitoIdentityId":"id-1"}',
    );
  });

  it("omits client context and identity when absent", async () => {
    background(api.invoke(invocation({})));

    const next = await fetch(`${base}${NEXT}`);
    await next.arrayBuffer();

    expect(next.headers.has("lambda-runtime-client-context")).toBe(false);
    expect(next.headers.has("lambda-runtime-cognito-identity")).toBe(false);
  });

  it("holds next open until an event arrives", async () => {
    let answered = false;
    const next = fetch(`${base}${NEXT}`).then((reply) => {
      answered = true;
      return reply;
    });
    await api.waitForInit();

    expect(answered).toBe(false);

    const event = invocation({ late: true });
    background(api.invoke(event));
    const reply = await next;

    expect(reply.headers.get("lambda-runtime-aws-request-id")).toBe(event.requestId);
    expect(await reply.json()).toEqual({ late: true });
  });

  it("rejects a second next while one waits", async () => {
    const first = fetch(`${base}${NEXT}`);
    await api.waitForInit();

    const second = await fetch(`${base}${NEXT}`);

    expect(second.status).toBe(403);
    expect(await second.json()).toMatchObject({ errorType: "InvalidStateTransition" });
    background(api.invoke(invocation({})));
    await (await first).arrayBuffer();
  });

  it("rejects next before the event is answered", async () => {
    await takeEvent();

    const again = await fetch(`${base}${NEXT}`);

    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ errorType: "InvalidStateTransition" });
  });
});

describe("invocation response", () => {
  it("accepts the response with 202 and resolves the invoke", async () => {
    const { event, outcome } = await takeEvent();

    const reply = await fetch(`${base}${responsePath(event.requestId)}`, {
      method: "POST",
      body: '{"ok":true}',
    });

    expect(reply.status).toBe(202);
    expect(await reply.json()).toEqual({ status: "OK" });
    expect(await outcome).toEqual({ kind: "response", payload: Buffer.from('{"ok":true}') });
  });

  it("rejects an unknown request id with 400", async () => {
    const { outcome, event } = await takeEvent();

    const reply = await fetch(`${base}${responsePath("not-the-request")}`, {
      method: "POST",
      body: "{}",
    });

    expect(reply.status).toBe(400);
    expect(await reply.json()).toEqual({
      errorType: "InvalidRequestID",
      errorMessage: expect.any(String),
    });
    await fetch(`${base}${responsePath(event.requestId)}`, { method: "POST", body: "1" });
    await outcome;
  });

  it("rejects a second response with 403", async () => {
    const { event, outcome } = await takeEvent();
    await fetch(`${base}${responsePath(event.requestId)}`, { method: "POST", body: "1" });
    await outcome;

    const again = await fetch(`${base}${responsePath(event.requestId)}`, {
      method: "POST",
      body: "2",
    });

    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ errorType: "InvalidStateTransition" });
  });

  it("rejects a response before any event with 403", async () => {
    const reply = await fetch(`${base}${responsePath("never-sent")}`, {
      method: "POST",
      body: "1",
    });

    expect(reply.status).toBe(403);
    expect(await reply.json()).toMatchObject({ errorType: "InvalidStateTransition" });
  });

  it("decodes a URL-encoded request id", async () => {
    const event = invocation({}, { requestId: "id with/slash" });
    const outcome = api.invoke(event);
    await (await fetch(`${base}${NEXT}`)).arrayBuffer();

    const reply = await fetch(`${base}${responsePath(encodeURIComponent(event.requestId))}`, {
      method: "POST",
      body: "1",
    });

    expect(reply.status).toBe(202);
    expect((await outcome).kind).toBe("response");
  });
});

describe("response size limit", () => {
  it("answers 413 above the limit and reports response-too-large", async () => {
    const { event, outcome } = await takeEvent();
    const body = Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61);

    const reply = await fetch(`${base}${responsePath(event.requestId)}`, { method: "POST", body });

    expect(reply.status).toBe(413);
    expect(await reply.json()).toMatchObject({ errorType: "RequestEntityTooLarge" });
    expect(await outcome).toEqual({ kind: "response-too-large", bytes: MAX_RESPONSE_BYTES + 1 });
  });

  it("accepts a response of exactly the limit", async () => {
    const { event, outcome } = await takeEvent();
    const body = Buffer.alloc(MAX_RESPONSE_BYTES, 0x61);

    const reply = await fetch(`${base}${responsePath(event.requestId)}`, { method: "POST", body });

    expect(reply.status).toBe(202);
    const result = await outcome;
    expect(result.kind).toBe("response");
    // Comparing 6 MB element by element is slow, so compare the bytes directly.
    expect((result as { payload: Buffer }).payload.equals(body)).toBe(true);
  });

  it("keeps the connection usable after a 413", async () => {
    const connection = processConnection();
    const event = invocation({});
    const outcome = api.invoke(event);
    await callRuntimeApi(api, "GET", NEXT, { agent: connection });

    const tooLarge = await callRuntimeApi(api, "POST", responsePath(event.requestId), {
      agent: connection,
      body: Buffer.alloc(MAX_RESPONSE_BYTES + 10, 0x61),
    });
    await outcome;
    const second = invocation({ second: true });
    background(api.invoke(second));
    const next = await callRuntimeApi(api, "GET", NEXT, { agent: connection });

    expect(tooLarge.status).toBe(413);
    expect(next.status).toBe(200);
    expect(next.headers["lambda-runtime-aws-request-id"]).toBe(second.requestId);
  });
});

describe("invocation error", () => {
  it("resolves the invoke with the error type header and body", async () => {
    const { event, outcome } = await takeEvent();
    const body = JSON.stringify({ errorType: "TypeError", errorMessage: "bad", trace: [] });

    const reply = await fetch(`${base}${errorPath(event.requestId)}`, {
      method: "POST",
      body,
      headers: { "Lambda-Runtime-Function-Error-Type": "TypeError" },
    });

    expect(reply.status).toBe(202);
    expect(await outcome).toEqual({
      kind: "error",
      errorType: "TypeError",
      payload: Buffer.from(body),
    });
  });

  it("leaves the error type undefined without the header", async () => {
    const { event, outcome } = await takeEvent();

    await fetch(`${base}${errorPath(event.requestId)}`, { method: "POST", body: "{}" });

    expect(await outcome).toMatchObject({ kind: "error", errorType: undefined });
  });

  it("rejects an error for an unknown request id with 400", async () => {
    const { event, outcome } = await takeEvent();

    const reply = await fetch(`${base}${errorPath("someone-else")}`, {
      method: "POST",
      body: "{}",
    });

    expect(reply.status).toBe(400);
    expect(await reply.json()).toMatchObject({ errorType: "InvalidRequestID" });
    await fetch(`${base}${errorPath(event.requestId)}`, { method: "POST", body: "{}" });
    await outcome;
  });
});

describe("init error", () => {
  it("resolves waitForInit with the init error", async () => {
    const reply = await fetch(`${base}${INIT_ERROR}`, {
      method: "POST",
      body: '{"errorType":"Runtime.ImportModuleError","errorMessage":"missing"}',
      headers: { "Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError" },
    });

    expect(reply.status).toBe(202);
    expect(await api.waitForInit()).toEqual({
      kind: "init-error",
      errorType: "Runtime.ImportModuleError",
      payload: Buffer.from('{"errorType":"Runtime.ImportModuleError","errorMessage":"missing"}'),
    });
  });

  it("rejects init error after the first next with 403", async () => {
    await takeEvent();

    const reply = await fetch(`${base}${INIT_ERROR}`, { method: "POST", body: "{}" });

    expect(reply.status).toBe(403);
    expect(await reply.json()).toMatchObject({ errorType: "InvalidStateTransition" });
  });

  it("rejects next after an init error with 403", async () => {
    await fetch(`${base}${INIT_ERROR}`, { method: "POST", body: "{}" });

    const next = await fetch(`${base}${NEXT}`);

    expect(next.status).toBe(403);
  });
});

describe("runtime reset", () => {
  it("rejects the pending invoke with the reason", async () => {
    const { outcome } = await takeEvent();

    api.resetRuntime(new Error("Task timed out"));

    await expect(outcome).rejects.toThrow("Task timed out");
  });

  it("answers calls on the old connection with 403", async () => {
    const oldProcess = processConnection();
    const event = invocation({});
    const outcome = api.invoke(event);
    await callRuntimeApi(api, "GET", NEXT, { agent: oldProcess });
    api.resetRuntime(new Error("runtime exited"));
    await outcome.catch(() => {});

    const late = await callRuntimeApi(api, "POST", responsePath(event.requestId), {
      agent: oldProcess,
      body: "1",
    });

    expect(late.status).toBe(403);
    expect(JSON.parse(late.body)).toMatchObject({ errorType: "InvalidStateTransition" });
  });

  it("answers a held next of the old process with 403", async () => {
    const held = callRuntimeApi(api, "GET", NEXT, { agent: processConnection() });
    await api.waitForInit();

    api.resetRuntime(new Error("recycled"));

    expect((await held).status).toBe(403);
  });

  it("expects a new init from the next process", async () => {
    await takeEvent();
    api.resetRuntime(new Error("reset"));

    const init = api.waitForInit();
    const event = invocation({ after: "reset" });
    const outcome = api.invoke(event);
    const next = await callRuntimeApi(api, "GET", NEXT);
    await callRuntimeApi(api, "POST", responsePath(event.requestId), { body: '"fresh"' });

    expect(await init).toEqual({ kind: "ready" });
    expect(next.headers["lambda-runtime-aws-request-id"]).toBe(event.requestId);
    expect(await outcome).toMatchObject({ kind: "response" });
  });

  it("rejects a pending waitForInit", async () => {
    const init = api.waitForInit();

    api.resetRuntime(new Error("init timed out"));

    await expect(init).rejects.toThrow("init timed out");
  });
});

describe("invoke", () => {
  it("rejects a second invoke while one is pending", async () => {
    const first = api.invoke(invocation({}));

    await expect(api.invoke(invocation({}))).rejects.toThrow(/busy/);

    api.resetRuntime(new Error("cleanup"));
    await first.catch(() => {});
  });

  it("delivers an event queued before init", async () => {
    const event = invocation({ queued: true });
    const outcome = api.invoke(event);

    const next = await fetch(`${base}${NEXT}`);
    await fetch(`${base}${responsePath(event.requestId)}`, { method: "POST", body: "1" });

    expect(await next.json()).toEqual({ queued: true });
    expect((await outcome).kind).toBe("response");
  });

  it("rejects the pending invoke on close", async () => {
    const server = await RuntimeApiServer.start({});
    const outcome = server.invoke(invocation({}));

    await server.close();

    await expect(outcome).rejects.toThrow(/closed/);
  });
});

describe("routing", () => {
  it("answers an unknown path with 404", async () => {
    const reply = await fetch(`${base}/2018-06-01/runtime/unknown`);

    expect(reply.status).toBe(404);
    expect(await reply.json()).toMatchObject({ errorType: "NotFound" });
  });

  it("answers a wrong method with 405", async () => {
    const reply = await fetch(`${base}${NEXT}`, { method: "POST", body: "{}" });

    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("GET");
  });
});

describe("platformErrorType", () => {
  it.each([
    ["Runtime.ImportModuleError", "Runtime.ImportModuleError"],
    ["Function.MyError", "Function.MyError"],
    ["Function.my error", "Function.Unknown"],
    ["TypeError", "Runtime.Unknown"],
    ["Runtime.", "Runtime.Unknown"],
    [undefined, "Runtime.Unknown"],
  ])("maps %s to %s", (header, expected) => {
    expect(platformErrorType(header)).toBe(expected);
  });
});
