import pino, { type Logger } from "pino";

/**
 * Creates the simulator's root logger: JSON lines to `destination` (a file
 * path), or to stdout, pretty-printed when stdout is a terminal.
 */
export function createLogger(options: { level?: string; destination?: string } = {}): Logger {
  const level = options.level ?? process.env.WARMSTATE_LOG_LEVEL ?? "info";
  if (options.destination) {
    return pino(
      { level },
      pino.destination({ dest: options.destination, mkdir: true, sync: false }),
    );
  }
  // People read a terminal; machines read a pipe or a file.
  if (process.stdout.isTTY) {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } },
    });
  }
  return pino({ level });
}

export type { Logger };
