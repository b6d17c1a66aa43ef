/**
 * Measures what the cgroup v1 freezer costs for one idle Node.js process,
 * outside the simulator: the write of FROZEN, the time until the state
 * reads FROZEN, and the write of THAWED, then the same for SIGSTOP and
 * SIGCONT. It is the lower bound of the warm invoke's freeze and thaw on
 * this machine, because the runtime in the invoke path is rarely idle when
 * it is frozen. Needs root and a cgroup v1 freezer hierarchy.
 *
 *   npx tsx bench/freezer-cost.ts [ROUNDS]
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { round, summarize } from "./stats.ts";

const FREEZER = "/sys/fs/cgroup/freezer";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 500);
  if (!existsSync(FREEZER))
    throw new Error(
      `No cgroup v1 freezer found at ${FREEZER}. Run this on a cgroup v1 host, as root.`,
    );

  const dir = `${FREEZER}/warmstate-freezer-cost-${process.pid}`;
  mkdirSync(dir);
  // An idle Node.js process with its usual threads (V8 platform workers, libuv pool).
  const child = spawn(
    process.execPath,
    ["-e", "setInterval(() => {}, 1000); require('fs').readFile(__filename, () => {})"],
    {
      stdio: "ignore",
    },
  );
  const pid = child.pid as number;
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    writeFileSync(`${dir}/cgroup.procs`, String(pid));
    const threads = readdirSync(`/proc/${pid}/task`).length;
    const state = `${dir}/freezer.state`;

    const freezeWrite: number[] = [];
    const frozen: number[] = [];
    const thawWrite: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      writeFileSync(state, "FROZEN");
      freezeWrite.push(performance.now() - started);
      while (readFileSync(state, "utf8").trim() !== "FROZEN") await nextTurn();
      frozen.push(performance.now() - started);
      const thawStarted = performance.now();
      writeFileSync(state, "THAWED");
      thawWrite.push(performance.now() - thawStarted);
      await nextTurn();
    }

    const stopSignal: number[] = [];
    const stopped: number[] = [];
    const continueSignal: number[] = [];
    const processState = () => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      process.kill(pid, "SIGSTOP");
      stopSignal.push(performance.now() - started);
      while (processState() !== "T") await nextTurn();
      stopped.push(performance.now() - started);
      const continueStarted = performance.now();
      process.kill(pid, "SIGCONT");
      continueSignal.push(performance.now() - continueStarted);
      await nextTurn();
    }

    const p50 = (samples: number[]) => round(summarize(samples).p50);
    console.log(
      JSON.stringify(
        {
          rounds,
          threads,
          freezer_write_frozen_p50_ms: p50(freezeWrite),
          freezer_until_frozen_p50_ms: p50(frozen),
          freezer_write_thawed_p50_ms: p50(thawWrite),
          sigstop_p50_ms: p50(stopSignal),
          sigstop_until_stopped_p50_ms: p50(stopped),
          sigcont_p50_ms: p50(continueSignal),
        },
        null,
        2,
      ),
    );
  } finally {
    writeFileSync(`${dir}/freezer.state`, "THAWED");
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    rmdirSync(dir);
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
