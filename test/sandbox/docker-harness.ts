/**
 * Shared set-up of the docker backend tests: whether an engine responds,
 * a spec builder for the probe fixture, and output collection.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import pino from "pino";
import type { RuntimeExit, Sandbox, SandboxSpec } from "../../simulator/sandbox/backend.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repositoryRoot = path.resolve(here, "../..");
export const probeDir = path.join(repositoryRoot, "test/fixtures/docker/probe");
export const runtimeClientDir = path.join(repositoryRoot, "test/fixtures/docker/runtime-client");
/** Entry of the fixture that replaces the project's runtime client (whose entry is index.mjs). */
export const runtimeClientEntry = "index.js";
export const nodeModulesDir = path.join(repositoryRoot, "node_modules");
export const silentLogger = pino({ level: process.env.WARMSTATE_TEST_LOG_LEVEL ?? "silent" });

/** Why docker tests cannot run here, or undefined when an engine responds. */
export async function findEngineProblem(docker: Dockerode): Promise<string | undefined> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("no answer within 3 s")), 3_000).unref(),
      ),
    ]);
    return undefined;
  } catch (error) {
    return `no Docker Engine responds (${(error as Error).message}); start dockerd to run these tests`;
  }
}

let counter = 0;

/** Builds a spec that runs the probe fixture's bootstrap in `mode`. */
export function probeSpec(mode: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  counter += 1;
  return {
    environmentId: `test-${process.pid}-${counter}`,
    functionName: "docker-probe",
    codeDir: probeDir,
    entry: { kind: "bootstrap" },
    env: { PROBE_MODE: mode, _HANDLER: "probe.handler" },
    runtimeApi: { host: "127.0.0.1", port: 9 },
    memoryMb: 256,
    ephemeralStorageMb: 64,
    nofile: 1024,
    nproc: 1024,
    ...overrides,
  };
}

/** Collects a sandbox's output as text, per stream, and its exits. */
export class OutputCollector {
  stdout = "";
  stderr = "";
  exits: RuntimeExit[] = [];
  #waiters: Array<() => void> = [];

  constructor(sandbox: Sandbox) {
    sandbox.onOutput((chunk, stream) => {
      if (stream === "stdout") this.stdout += chunk.toString();
      else this.stderr += chunk.toString();
      this.#notify();
    });
    sandbox.onRuntimeExit((exit) => {
      this.exits.push(exit);
      this.#notify();
    });
  }

  /** Resolves once `condition` holds, or rejects after `timeoutMs` with what was seen. */
  async waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; stdout: ${this.stdout.slice(-500)} stderr: ${this.stderr.slice(-500)}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100).unref();
      });
    }
  }

  /** Resolves with the first stdout line that matches `pattern`. */
  async line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray> {
    await this.waitFor(() => pattern.test(this.stdout), `output ${pattern}`, timeoutMs);
    return pattern.exec(this.stdout) as RegExpExecArray;
  }

  #notify(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
