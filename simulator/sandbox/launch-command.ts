import type { ProcessMechanisms } from "./process-mechanisms.ts";

/**
 * The command lines that start a runtime inside its sandbox. `unshare`
 * gives it a new mount namespace, or `nsenter` joins the namespace of a
 * holder process. A short sh script, still in the same process, then joins
 * the cgroups, mounts /tmp and the read-only code folder, and execs prlimit
 * and setpriv, which exec the runtime. The runtime therefore keeps the pid
 * that the simulator spawned, and every limit applies before its first
 * instruction.
 */

/** Backing of /tmp inside the sandbox. */
export type TmpMount = { kind: "loop"; device: string } | { kind: "tmpfs"; sizeMb: number };

/** Inputs of {@link buildLaunchCommand}. */
export interface LaunchOptions {
  mechanisms: ProcessMechanisms;
  /** cgroup.procs files to join before anything else runs. */
  procsFiles: string[];
  tmp: TmpMount;
  codeDir: string;
  /** Uid and gid of the runtime, or null to stay the namespace's root. */
  uid: number | null;
  nofile: number;
  nproc: number;
  /** Runtime program and its arguments, as absolute paths. */
  command: string[];
  /** Process whose namespaces (with /tmp already mounted) the runtime joins, or null for new ones. */
  holderPid: number | null;
  /**
   * Uid that creates the user namespace, or null for the simulator's own.
   * Root uses one to get the limits a non-root user gets, because RLIMIT_NPROC
   * never applies to processes of the host's root user.
   */
  namespaceOwnerUid: number | null;
}

/** Program and arguments for child_process.spawn. */
export function buildLaunchCommand(options: LaunchOptions): { file: string; args: string[] } {
  const { tools } = options.mechanisms;
  const lines = ["set -e"];

  for (const procsFile of options.procsFiles) lines.push(`echo $$ > ${quote(procsFile)}`);
  if (options.holderPid === null)
    lines.push(...mountLines(options.mechanisms, options.tmp, options.codeDir));
  lines.push(`cd ${quote(options.codeDir)}`);

  const limits = [
    `--nofile=${options.nofile}:${options.nofile}`,
    `--nproc=${options.nproc}:${options.nproc}`,
  ];
  const user =
    options.uid === null
      ? []
      : [`--reuid=${options.uid}`, `--regid=${options.uid}`, "--clear-groups"];
  // The parent-death signal makes the runtime die with the simulator, so a
  // killed simulator leaves no running function behind.
  const exec = [
    tools.prlimit,
    ...limits,
    "--",
    tools.setpriv,
    ...user,
    "--pdeathsig",
    "KILL",
    "--",
  ];
  lines.push(`exec ${exec.map(quote).join(" ")} "$@"`);

  const script = [tools.sh, "-c", lines.join("\n"), "sandbox", ...options.command];
  if (options.holderPid !== null) {
    // Joining a user namespace keeps the caller's uid, which the namespace
    // maps to its root: nsenter's own switch to uid 0 would call setgroups,
    // which the namespace denies.
    const inUserNamespace = options.mechanisms.isolation === "user and mount namespace";
    // Entering the holder's pid namespace makes nsenter fork: the runtime
    // is the child of the spawned process.
    const namespaces = inUserNamespace
      ? ["--user", "--mount", "--pid", "--preserve-credentials"]
      : ["--mount", "--pid"];
    const nsenter = [
      tools.nsenter,
      "--target",
      String(options.holderPid),
      ...namespaces,
      "--",
      ...script,
    ];
    return wrapCommand(options.mechanisms, options.namespaceOwnerUid, nsenter, true);
  }
  const unshare = [
    tools.unshare,
    ...namespaceFlags(options.mechanisms),
    "--propagation",
    "private",
    "--",
    ...script,
  ];
  return wrapCommand(options.mechanisms, options.namespaceOwnerUid, unshare, false);
}

/**
 * Command of a process that creates the namespaces, mounts /tmp and the code
 * folder, prints `ready` and then sleeps until killed. Its sleeping child is
 * the init of a new pid namespace, so killing the holder kills every process
 * the runtimes started, detached ones included.
 */
export function buildHolderCommand(
  mechanisms: ProcessMechanisms,
  tmp: TmpMount,
  codeDir: string,
  namespaceOwnerUid: number | null,
): { file: string; args: string[] } {
  const { tools } = mechanisms;
  const lines = ["set -e", ...mountLines(mechanisms, tmp, codeDir), "echo ready"];
  lines.push(
    `exec ${[tools.setpriv, "--pdeathsig", "KILL", "--", tools.sleep, "infinity"].map(quote).join(" ")}`,
  );

  const unshare = [
    tools.unshare,
    ...namespaceFlags(mechanisms),
    "--pid",
    "--fork",
    "--kill-child",
    "--propagation",
    "private",
    "--",
    tools.sh,
    "-c",
    lines.join("\n"),
  ];
  return wrapCommand(mechanisms, namespaceOwnerUid, unshare, true);
}

// Runs `command` through setpriv when it must switch to `uid` or die with
// the simulator. unshare --fork and nsenter --pid fork, so the runtime's own
// parent-death signal then fires only when they die, and they need theirs.
function wrapCommand(
  mechanisms: ProcessMechanisms,
  uid: number | null,
  command: string[],
  dieWithParent: boolean,
): { file: string; args: string[] } {
  if (uid === null && !dieWithParent) return { file: command[0], args: command.slice(1) };

  const user = uid === null ? [] : [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
  const parentDeath = dieWithParent ? ["--pdeathsig", "KILL"] : [];
  return { file: mechanisms.tools.setpriv, args: [...user, ...parentDeath, "--", ...command] };
}

function namespaceFlags(mechanisms: ProcessMechanisms): string[] {
  return mechanisms.isolation === "user and mount namespace"
    ? ["--user", "--map-root-user", "--mount"]
    : ["--mount"];
}

function mountLines(mechanisms: ProcessMechanisms, tmp: TmpMount, codeDir: string): string[] {
  const { tools } = mechanisms;
  // The working directory keeps a reference to the code folder even when
  // the private /tmp mounted next hides it (code stored under the host's /tmp).
  const lines = [`cd ${quote(codeDir)}`];

  if (tmp.kind === "loop") {
    lines.push(`${quote(tools.mount)} -n -o nosuid,nodev ${quote(tmp.device)} /tmp`);
    // Only the first mount of a new image needs this; the sticky bit marks it done.
    lines.push(
      `if [ ! -k /tmp ]; then ${quote(tools.chmod)} 1777 /tmp; rmdir /tmp/lost+found 2>/dev/null || true; fi`,
    );
  } else {
    const size = `size=${tmp.sizeMb}m,mode=1777,nosuid,nodev`;
    lines.push(`${quote(tools.mount)} -n -t tmpfs -o ${size} tmpfs /tmp`);
  }

  // A read-only bind of the code folder at its own path. Code stored under
  // the host's /tmp gets that path recreated inside the private /tmp.
  // PARITY: the function then sees those folders in /tmp, where Lambda's
  // /tmp starts empty.
  if (codeDir.startsWith("/tmp/")) lines.push(`${quote(tools.mkdir)} -p ${quote(codeDir)}`);
  // --no-canonicalize keeps "." relative to the working directory: resolved
  // to a path, it would name the new empty folder.
  const bindCode = `${quote(tools.mount)} -n --no-canonicalize --bind -o ro . ${quote(codeDir)}`;
  // In a user namespace the kernel may refuse the read-only remount, which
  // leaves the code writable.
  const inUserNamespace = mechanisms.isolation === "user and mount namespace";
  lines.push(inUserNamespace ? `${bindCode} 2>/dev/null || true` : bindCode);
  return lines;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
