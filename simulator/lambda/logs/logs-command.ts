import { parseArgs } from "node:util";
import { UsageError } from "../../commands/options.ts";

const HELP = `Usage: warmstate logs FUNCTION [--follow] [--endpoint URL] [--request-id ID] [--filter PATTERN] [--since DURATION]

Prints a function's log lines from a running simulator, oldest first.
  --follow, -f        keep printing new lines until Ctrl-C
  --endpoint URL      the simulator (default $WARMSTATE_ENDPOINT or http://127.0.0.1:4700)
  --request-id ID     only the lines of one invocation
  --filter PATTERN    CloudWatch Logs filter pattern, for example "ERROR -retry"
  --since DURATION    only lines newer than this: 30s, 10m, 2h or 1d`;

interface LogLineBody {
  sequence: number;
  timestamp: number;
  logStreamName: string;
  message: string;
}

/** Parses `30s`, `10m`, `2h`, `1d` into milliseconds. */
function parseDuration(value: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!match)
    throw new UsageError(
      `Invalid --since "${value}": expected a number followed by s, m, h or d, for example 10m.`,
    );
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "s" | "m" | "h" | "d"
  ];
  return Number(match[1]) * unit;
}

function formatLine(line: LogLineBody): string {
  // Streams are `YYYY/MM/DD/[VERSION]ENVIRONMENT`; the bracketed tail is enough to tell them apart.
  const stream = line.logStreamName.slice(line.logStreamName.indexOf("["));
  return `${new Date(line.timestamp).toISOString()} ${stream} ${line.message}`;
}

/**
 * `warmstate logs FUNCTION [--follow]`: reads the admin API of a running
 * simulator. With --follow it long-polls for new lines until Ctrl-C or until
 * `options.signal` aborts.
 */
export async function logsCommand(
  argv: string[],
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      follow: { type: "boolean", short: "f", default: false },
      endpoint: {
        type: "string",
        default: process.env.WARMSTATE_ENDPOINT ?? "http://127.0.0.1:4700",
      },
      "request-id": { type: "string" },
      filter: { type: "string" },
      since: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const functionName = positionals[0];
  if (!functionName || positionals.length > 1)
    throw new UsageError(`Expected one function name.\n\n${HELP}`);

  const since = values.since ? Date.now() - parseDuration(values.since) : undefined;
  const base = `${values.endpoint.replace(/\/+$/, "")}/_warmstate/logs/${encodeURIComponent(functionName)}`;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  options.signal?.addEventListener("abort", stop, { once: true });

  let after = 0;
  let firstPage = true;
  try {
    for (;;) {
      const query = new URLSearchParams({ after: String(after) });
      if (values["request-id"]) query.set("requestId", values["request-id"]);
      if (values.filter) query.set("filter", values.filter);
      // After the first page, follow requests long-poll, so this loop does not spin.
      if (values.follow && !firstPage) query.set("wait", "20");
      firstPage = false;

      let response: Response;
      try {
        response = await fetch(`${base}?${query}`, { signal: controller.signal });
      } catch (error) {
        if (controller.signal.aborted) return 0;
        console.error(
          `Could not reach the simulator at ${values.endpoint}: ${(error as Error).message}. Start it with \`warmstate serve\` or pass --endpoint.`,
        );
        return 1;
      }
      const body = (await response.json()) as {
        events?: LogLineBody[];
        lastSequence?: number;
        message?: string;
      };
      if (!response.ok) {
        console.error(
          `Reading the log of ${functionName} failed (${response.status}): ${body.message ?? "no message"}`,
        );
        return 1;
      }

      for (const line of body.events ?? []) {
        if (since === undefined || line.timestamp >= since) console.log(formatLine(line));
      }
      after = Math.max(after, body.lastSequence ?? 0);
      if (!values.follow) return 0;
    }
  } finally {
    process.off("SIGINT", stop);
  }
}
