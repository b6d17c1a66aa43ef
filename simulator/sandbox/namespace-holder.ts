import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { buildHolderCommand } from "./launch-command.ts";
import type { ProcessMechanisms } from "./process-mechanisms.ts";

/**
 * A sleeping process that owns a sandbox's namespaces when /tmp is a tmpfs.
 * A tmpfs disappears with the last process of its mount namespace, so
 * without a holder a runtime reset would lose /tmp.
 */
export interface NamespaceHolder {
  /** Host pid of the holder's child, the init of the sandbox's pid namespace. */
  readonly pid: number;
  /** Kills the holder, which unmounts its tmpfs. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Spawns a holder and waits until its /tmp is mounted. */
export async function startNamespaceHolder(options: {
  mechanisms: ProcessMechanisms;
  sizeMb: number;
  codeDir: string;
  namespaceOwnerUid: number | null;
}): Promise<NamespaceHolder> {
  const tmp = { kind: "tmpfs", sizeMb: options.sizeMb } as const;
  const command = buildHolderCommand(
    options.mechanisms,
    tmp,
    options.codeDir,
    options.namespaceOwnerUid,
  );
  // Its own process group, like the runtimes: a Ctrl-C reaches the simulator only.
  const holder = spawn(command.file, command.args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = once(holder, "exit");

  let stderr = "";
  holder.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = new Promise<void>((resolve) => {
    holder.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
  });

  const timeout = AbortSignal.timeout(READY_TIMEOUT_MS);
  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    exited.then(() => "exited" as const),
    once(timeout, "abort").then(() => "timeout" as const),
  ]);
  if (outcome !== "ready") {
    holder.kill("SIGKILL");
    throw new Error(
      `Failed to set up the sandbox namespace (${outcome}): ${stderr.trim() || "no error output"}`,
    );
  }

  // unshare --fork runs the namespace's init as its only child.
  const unsharePid = holder.pid as number;
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim();
  if (!children) {
    holder.kill("SIGKILL");
    throw new Error(
      `Failed to set up the sandbox namespace: holder ${unsharePid} has no child process.`,
    );
  }

  const initPid = Number(children.split(" ")[0]);
  return {
    pid: initPid,
    stop: () => stopHolder(holder, exited, initPid),
  };
}

// Killing unshare makes the kernel kill the namespace's init, which then
// kills and waits for every process of the namespace. Waiting until the init
// itself is gone means no process of the sandbox is left.
async function stopHolder(
  holder: ChildProcess,
  exited: Promise<unknown>,
  initPid: number,
): Promise<void> {
  if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGKILL");
  await exited;

  for (let attempt = 0; attempt < 500 && isLive(initPid); attempt++)
    await sleep(attempt < 10 ? 1 : 10);
  if (isLive(initPid))
    throw new Error(`Namespace init ${initPid} still runs 5 seconds after its holder was killed.`);
}

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !"ZX".includes(stat[stat.lastIndexOf(")") + 2]);
  } catch {
    return false;
  }
}
