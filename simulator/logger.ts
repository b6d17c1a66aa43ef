import pino, { type Logger } from "pino";

/** Creates the simulator's root logger; `destination` is a file path or stdout when omitted. */
export function createLogger(options: { level?: string; destination?: string } = {}): Logger {
  const level = options.level ?? process.env.WARMSTATE_LOG_LEVEL ?? "info";
  if (options.destination) {
    return pino(
      { level },
      pino.destination({ dest: options.destination, mkdir: true, sync: false }),
    );
  }
  return pino({ level });
}

export type { Logger };
