import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { echoRoundTrips } from "../../bench/baselines.ts";
import { summarize } from "../../bench/stats.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

describe("summarize", () => {
  it("takes p50 and p99 from the sorted samples", () => {
    const samples = Array.from({ length: 100 }, (_, index) => 100 - index);

    const summary = summarize(samples);

    expect(summary.count).toBe(100);
    expect(summary.p50).toBe(51);
    expect(summary.p99).toBe(100);
    expect(summary.mean).toBe(50.5);
  });

  it("leaves the input order unchanged", () => {
    const samples = [3, 1, 2];

    summarize(samples);

    expect(samples).toEqual([3, 1, 2]);
  });
});

describe("echo baseline", () => {
  it("returns one sample per round trip to a child process", async () => {
    const samples = await echoRoundTrips(20, true);

    expect(samples).toHaveLength(20);
    expect(samples.every((sample) => sample > 0)).toBe(true);
  });

  it("returns one sample per round trip in this process", async () => {
    const samples = await echoRoundTrips(20, false);

    expect(samples).toHaveLength(20);
  });
});

describe("bench command", () => {
  it("prints exactly one JSON object with --json", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "bench/index.ts", "--json", "--only", "s3"],
      {
        cwd: ROOT,
        timeout: 120_000,
      },
    );

    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const results = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(results["s3.put_mib_per_second"]).toBeTypeOf("number");
    expect(results["s3.error"]).toBeUndefined();
  }, 130_000);

  it("rejects an unknown section name", async () => {
    const attempt = run(process.execPath, ["--import", "tsx", "bench/index.ts", "--only", "nope"], {
      cwd: ROOT,
      timeout: 60_000,
    });

    await expect(attempt).rejects.toThrow(/Unknown section "nope"/);
  }, 70_000);
});
