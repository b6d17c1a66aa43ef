import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { LambdaClient } from "@aws-sdk/client-lambda";
import pino from "pino";
import { type Simulator, startSimulator } from "../../../simulator/index.ts";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** One JSON line of the simulator's log. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/**
 * Creates a user's project folder for one test, with the given package.json.
 * It lives under the repository's `.warmstate/` (ignored by git) because
 * process sandboxes get a private /tmp, and it is world-readable because
 * sandboxes run as another user.
 */
export function makeProject(label: string, packageJson?: Record<string, unknown>): string {
  const parent = path.join(REPO_ROOT, ".warmstate", "test-runs");
  mkdirSync(parent, { recursive: true });
  const project = mkdtempSync(path.join(parent, `${label}-`));
  chmodSync(project, 0o755);
  if (packageJson) writeFileSync(path.join(project, "package.json"), JSON.stringify(packageJson));
  return project;
}

/** Writes `files` (relative path to content) into `folder`, creating subfolders. */
export function writeFiles(folder: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(folder, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** A simulator started in a project folder, with its log lines kept in memory. */
export interface ProjectSimulator {
  simulator: Simulator;
  lambda: LambdaClient;
  /** Every line the simulator logged so far, parsed. */
  log: LogLine[];
  close(): Promise<void>;
}

/**
 * Starts the simulator with its data directory at `<project>/.warmstate`, as
 * `warmstate serve` does by default, and logs at info level into memory.
 * `close` stops it and removes the project folder.
 */
export async function startInProject(project: string): Promise<ProjectSimulator> {
  const log: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim()) log.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  const simulator = await startSimulator({
    dataDir: path.join(project, ".warmstate"),
    logger: pino({ level: "info" }, sink),
  });
  const lambda = new LambdaClient({
    endpoint: simulator.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "any-key", secretAccessKey: "any-secret" },
    maxAttempts: 1,
  });

  return {
    simulator,
    lambda,
    log,
    async close() {
      lambda.destroy();
      await simulator.close();
      rmSync(project, { recursive: true, force: true });
    },
  };
}
