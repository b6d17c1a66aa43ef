/**
 * Baselines that the benchmark sections divide by: bare HTTP round trips
 * (to a server in this process, or in a child process), a bare Fastify route
 * behind the same SDK client, and a `node -e 0` spawn.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import Fastify from "fastify";
import { timeEach } from "./stats.ts";

// A keep-alive echo server: it returns the request body. The child prints
// its port on stdout once it listens.
const ECHO_SERVER = `
const http = require("node:http");
const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks);
    response.writeHead(200, { "Content-Length": body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 0;
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/**
 * Times `count` POSTs of `body` over one keep-alive connection to an echo
 * server. With `crossProcess` the server runs in a child node process, so
 * the round trip crosses a process boundary as a warm invoke does (the
 * simulator and the sandboxed runtime are two processes).
 */
export async function echoRoundTrips(
  count: number,
  crossProcess: boolean,
  body = Buffer.from("{}"),
): Promise<number[]> {
  const { port, stop } = crossProcess ? await startChildEcho() : await startLocalEcho();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/",
          agent,
          headers: { "Content-Length": body.length },
        },
        (response) => {
          response.resume();
          response.on("end", resolve);
        },
      );
      request.on("error", reject);
      request.end(body);
    });

  try {
    await timeEach(Math.min(300, count), post);
    return await timeEach(count, post);
  } finally {
    agent.destroy();
    await stop();
  }
}

async function startLocalEcho(): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => response.end(Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function startChildEcho(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["-e", ECHO_SERVER], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      reject(new Error(`The echo server exited with code ${code} before it listened.`)),
    );
    child.stdout?.once("data", (chunk) => resolve(Number(String(chunk).trim())));
  });
  return { port, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Times `count` SDK Invoke calls against a bare Fastify route that returns
 * a constant, so the SDK's own cost is the same as in the measured path.
 */
export async function sdkAgainstBareFastify(count: number): Promise<number[]> {
  const app = Fastify();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.post("/2015-03-31/functions/:name/invocations", async () => null);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const client = new LambdaClient({
    endpoint: address,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  const send = () =>
    client.send(new InvokeCommand({ FunctionName: "noop", Payload: Buffer.from("{}") }));

  try {
    await timeEach(Math.min(100, count), send);
    return await timeEach(count, send);
  } finally {
    client.destroy();
    await app.close();
  }
}

/** Spawns `node -e 0` and resolves when it exits: the floor of any process cold start. */
export function spawnNode(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve());
  });
}
