import { UsageError } from "./commands/options.ts";

/** A subcommand of the `warmstate` CLI: returns the process exit code. */
type Command = (argv: string[]) => Promise<number>;

const USAGE = `Usage: warmstate <command> [options]

Commands:
  serve     Start the simulator and keep it running
              --port N          edge port for every AWS API (default 4700)
              --host ADDRESS    address to bind (default 127.0.0.1)
              --backend NAME    sandbox backend: process or docker (default process)
              --data-dir DIR    where functions, objects and executions are kept (default .warmstate)
  replay    Replay a production-like load of the PDF pipeline (what \`npm run sim\` runs)
  deploy    Deploy the PDF functions and state machines into a running simulator
  logs      Print a function's log: warmstate logs FUNCTION [--follow] [--endpoint URL]
  inspect   Show environments and leak findings: warmstate inspect [FUNCTION] [--endpoint URL]

Run \`warmstate <command> --help\` for the options of one command.`;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./commands/serve-command.ts")).serveCommand,
  replay: async () => (await import("./commands/replay-command.ts")).replayCommand,
  deploy: async () => (await import("./commands/deploy-command.ts")).deployCommand,
  logs: async () => (await import("./lambda/logs/logs-command.ts")).logsCommand,
  inspect: async () => (await import("./commands/inspect-command.ts")).inspectCommand,
};

/** Runs the CLI with the arguments after the program name. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(
      `Unknown command "${name}". Valid commands: ${Object.keys(COMMANDS).join(", ")}.`,
    );
    return 2;
  }
  try {
    const command = await load();
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    if (
      error instanceof TypeError &&
      "code" in error &&
      String(error.code).startsWith("ERR_PARSE_ARGS")
    ) {
      const message = error.message.replace(/[.\s]*$/, ".");
      console.error(`${message} Run \`warmstate ${name} --help\` for the valid options.`);
      return 2;
    }
    throw error;
  }
}
