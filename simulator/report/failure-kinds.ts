/**
 * Sorts failures into the kinds a reader looks for: the resource that ran
 * out, or the limit that was hit.
 */

/** Kinds of failure, in the order reports list them. */
export const FAILURE_KINDS = [
  "ENOSPC",
  "EMFILE",
  "out of memory",
  "timeout",
  "throttle",
  "States.DataLimitExceeded",
  "runtime exit",
  "bad document",
  "other",
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Facts of one failure. */
export interface FailureFacts {
  outcome?: string;
  errorType?: string;
  message?: string;
}

// The PDF functions name their input errors `...PDFError`, plus these.
const BAD_DOCUMENT_ERRORS =
  /PDFError$|^InvalidEventError$|^ZeroPagesError$|^IncompleteAnalysisError$/;

/** Classifies one failure. */
export function classifyFailure(facts: FailureFacts): FailureKind {
  const text = `${facts.errorType ?? ""} ${facts.message ?? ""}`;
  if (/\bENOSPC\b|no space left on device/i.test(text)) return "ENOSPC";
  if (/\bE[MN]FILE\b|too many open files/i.test(text)) return "EMFILE";
  if (facts.outcome === "out-of-memory" || /Runtime\.OutOfMemory|out of memory/i.test(text))
    return "out of memory";
  if (facts.outcome === "timeout" || /Sandbox\.Timedout|States\.Timeout|Task timed out/i.test(text))
    return "timeout";
  if (/TooManyRequestsException|ThrottlingException|Rate Exceeded/i.test(text)) return "throttle";
  if (/States\.DataLimitExceeded/.test(text)) return "States.DataLimitExceeded";
  if (facts.outcome === "runtime-exit" || /Runtime\.ExitError/.test(text)) return "runtime exit";
  if (facts.errorType && BAD_DOCUMENT_ERRORS.test(facts.errorType)) return "bad document";
  if (/PDFError\b/.test(text)) return "bad document";
  return "other";
}
