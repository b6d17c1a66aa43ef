import { mkdtemp, readdir, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { createEdgeServer } from "../../simulator/edge/edge-server.ts";
import { SERVICE_PREFIX } from "../../simulator/edge/service-routing.ts";
import { ObjectStore } from "../../simulator/s3/object-store.ts";
import { s3Plugin } from "../../simulator/s3/s3-plugin.ts";

/** A running edge server with the S3 plugin, its store and an SDK client. */
export interface S3Server {
  app: FastifyInstance;
  store: ObjectStore;
  client: S3Client;
  endpoint: string;
  port: number;
  root: string;
  close(): Promise<void>;
}

/** Makes a fresh directory for a store root; the caller removes it. */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `warmstate-s3-${label}-`));
}

/** Builds an SDK client for an endpoint, with any credentials, as users do. */
export function makeClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

/** Starts the edge server on 127.0.0.1 with a store at `root` (opened from disk). */
export async function startS3(root: string): Promise<S3Server> {
  const store = new ObjectStore({ root });
  await store.open();
  const app = createEdgeServer({ logger: pino({ level: "silent" }) });
  await app.register(s3Plugin, { prefix: SERVICE_PREFIX.s3, store });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = makeClient(endpoint);
  return {
    app,
    store,
    client,
    endpoint,
    port,
    root,
    close: async () => {
      client.destroy();
      await app.close();
    },
  };
}

/** Lists every file under a directory, recursively, as absolute paths. */
export async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

export async function removeDir(directory: string): Promise<void> {
  await rm(directory, { recursive: true, force: true });
}
