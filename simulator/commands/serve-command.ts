import { parseArgs } from "node:util";
import { startSimulator } from "../simulator.ts";
import { parseBackendName, parsePort, UsageError } from "./options.ts";

const HELP = `Usage: warmstate serve [--port 4700] [--host 127.0.0.1] [--backend process|docker] [--data-dir .warmstate]
                       [--log-level trace|debug|info|warn|error|silent]

Starts the simulator: the Lambda, Step Functions, S3 and CloudWatch Logs APIs on one
port, and /_warmstate for introspection. Stop it with Ctrl-C.`;

/** `warmstate serve`: starts the long-running simulator. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "4700" },
      host: { type: "string", default: "127.0.0.1" },
      backend: { type: "string", default: "process" },
      "data-dir": { type: "string", default: ".warmstate" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  const port = parsePort(values.port);
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator({
      port,
      host: values.host,
      backend: parseBackendName(values.backend),
      dataDir: values["data-dir"],
      logLevel: values["log-level"],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new UsageError(
        `Port ${port} on ${values.host} is already in use, perhaps by another simulator. Stop that process, or pass another --port (0 picks a free one).`,
      );
    }
    throw error;
  }
  console.log(
    `Warmstate is listening on ${simulator.endpoint} (backend: ${simulator.backendName}).`,
  );
  console.log(`Point the AWS SDK or CLI at it: --endpoint-url ${simulator.endpoint}`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.log(`Received ${signal}, shutting down every environment...`);
      simulator.close().then(resolve, (error) => {
        console.error("Shutdown failed:", error);
        resolve();
      });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
