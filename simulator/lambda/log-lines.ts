/**
 * The platform lines Lambda writes around every invocation.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html
 */

/** `START RequestId: ID Version: $LATEST` */
export function startLine(requestId: string, version: string): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

/** `END RequestId: ID` */
export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

/** Numbers of one REPORT line. */
export interface ReportFigures {
  durationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** Present on the first invocation of an environment. */
  initDurationMs?: number;
  /** Set when the invocation failed on the platform's side (timeout, exit). */
  status?: string;
}

/**
 * `REPORT RequestId: ID\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size:
 * 128 MB\tMax Memory Used: 60 MB\tInit Duration: 150.00 ms`. Billing rounds
 * the duration up to the next millisecond.
 */
export function reportLine(requestId: string, figures: ReportFigures): string {
  const parts = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${figures.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(figures.durationMs))} ms`,
    `Memory Size: ${figures.memorySizeMb} MB`,
    `Max Memory Used: ${Math.round(figures.maxMemoryUsedMb)} MB`,
  ];
  if (figures.initDurationMs !== undefined)
    parts.push(`Init Duration: ${figures.initDurationMs.toFixed(2)} ms`);
  if (figures.status) parts.push(`Status: ${figures.status}`);
  return `${parts.join("\t")}\t`;
}

/** Log stream name of an environment: `YYYY/MM/DD/[VERSION]ID`. */
export function logStreamName(createdAt: number, version: string, environmentId: string): string {
  const date = new Date(createdAt).toISOString().slice(0, 10).replaceAll("-", "/");
  return `${date}/[${version}]${environmentId}`;
}
