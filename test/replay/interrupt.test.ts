import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const folder = mkdtempSync(path.join(tmpdir(), "warmstate-interrupt-"));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  rmSync(folder, { recursive: true, force: true });
});

function childPids(parent: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  return table
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === parent)
    .map(([pid]) => pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("interrupted replay", () => {
  it("leaves no sandbox and a partial report", async () => {
    const outDir = path.join(folder, "run");
    child = spawn(
      process.execPath,
      ["bin/warmstate.js", "replay", "--scenario", "fd-exhaustion", "--out", outDir],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) =>
      child?.on("exit", (code) => resolve(code)),
    );

    // Wait for the progress line to show invocations (printed every 5 s without a TTY).
    while (!/ [1-9]\d* invocations/.test(output)) {
      if (child.exitCode !== null) throw new Error(`replay exited early:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const sandboxes = childPids(child.pid as number).filter((pid) => {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return (
        command.includes("simulator/runtime") ||
        command.includes("unshare") ||
        command.includes("nsenter")
      );
    });
    child.kill("SIGINT");
    const code = await exited;

    expect(sandboxes.length).toBeGreaterThan(0);
    expect(code).toBe(130);
    expect(sandboxes.filter(isAlive)).toEqual([]);
    const report = JSON.parse(readFileSync(path.join(outDir, "report.json"), "utf8"));
    expect(report.interrupted).toBe(true);
    expect(report.invocations.total).toBeGreaterThan(0);
    expect(report.invocations.total).toBeLessThan(1_200);
    expect(readFileSync(path.join(outDir, "report.html"), "utf8")).toContain(
      "interrupted: partial report",
    );
    expect(existsSync(path.join(outDir, "data"))).toBe(false);
    expect(output).toContain("INTERRUPTED, partial report");
  }, 120_000);
});
