import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RuntimeApiClient } from "../../simulator/runtime/runtime-api-client.mjs";

// The runtime client writes HTTP/1.1 itself. These node:http servers send
// responses in each framing a Runtime API server may use.
type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server | undefined;
const sockets = new Set<import("node:net").Socket>();

async function serve(handler: Handler): Promise<string> {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handler(request, Buffer.concat(chunks).toString("utf8"), response));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("runtime API client framing", () => {
  it("reads a chunked event with lowercase headers", async () => {
    const endpoint = await serve((_request, _body, response) => {
      response.setHeader("Lambda-Runtime-Aws-Request-Id", "req-1");
      response.write('{"part":');
      response.end('"two"}');
    });

    const event = await new RuntimeApiClient(endpoint).next();

    expect(JSON.parse(event.body)).toEqual({ part: "two" });
    expect(event.headers["lambda-runtime-aws-request-id"]).toBe("req-1");
  });

  it("reads a body that ends at close", async () => {
    const raw = createNetServer((socket) => {
      socket.once("data", () => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a":1}'));
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));

    try {
      const port = (raw.address() as AddressInfo).port;
      const event = await new RuntimeApiClient(`127.0.0.1:${port}`).next();

      expect(JSON.parse(event.body)).toEqual({ a: 1 });
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it("sends body, length and error type", async () => {
    const seen: { url?: string; body?: string; errorType?: string }[] = [];
    const endpoint = await serve((request, body, response) => {
      seen.push({
        url: request.url,
        body,
        errorType: request.headers["lambda-runtime-function-error-type"] as string,
      });
      response.writeHead(202, { "Content-Length": "2" });
      response.end("{}");
    });
    const client = new RuntimeApiClient(endpoint);

    const status = await client.postError("id/1", { errorType: "Custom\r\nError" });
    await client.postResponse("id-2", JSON.stringify({ text: "é".repeat(3) }));

    expect(status).toBe(202);
    expect(seen[0]).toEqual({
      url: "/2018-06-01/runtime/invocation/id%2F1/error",
      body: JSON.stringify({ errorType: "Custom\r\nError" }),
      errorType: "Custom Error",
    });
    expect(JSON.parse(seen[1].body ?? "")).toEqual({ text: "ééé" });
  });

  it("reconnects after a closed connection", async () => {
    const ports: number[] = [];
    const endpoint = await serve((request, _body, response) => {
      ports.push(request.socket.remotePort ?? 0);
      response.setHeader("Connection", "close");
      response.writeHead(202, { "Content-Length": "2" });
      response.end("{}");
    });
    const client = new RuntimeApiClient(endpoint);

    await client.postResponse("a", "1");
    await client.postResponse("b", "2");

    expect(ports).toHaveLength(2);
    expect(ports[0]).not.toBe(ports[1]);
  });

  it("rejects a call closed before responding", async () => {
    const endpoint = await serve((request) => request.socket.destroy());

    await expect(new RuntimeApiClient(endpoint).next()).rejects.toThrow(
      /closed the connection before it sent a response/,
    );
  });

  it("rejects a non-200 next with its body", async () => {
    const endpoint = await serve((_request, _body, response) => {
      response.writeHead(403, { "Content-Type": "application/json" });
      response.end('{"errorType":"InvalidStateTransition"}');
    });

    await expect(new RuntimeApiClient(endpoint).next()).rejects.toThrow(
      'Runtime API next returned 403: {"errorType":"InvalidStateTransition"}',
    );
  });
});
