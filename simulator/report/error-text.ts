/**
 * Error text for reports. A Task state's failure carries the function's
 * error as its cause, a JSON object such as
 * `{"errorType":"Error","errorMessage":"EMFILE: ...","trace":[...]}`. Reports
 * show it as `errorType: errorMessage`, as they show a failed invocation.
 */

/** Formats an error name and its cause as "errorType: errorMessage", unwrapping a runtime's JSON cause. */
export function describeError(error: string | undefined, cause: string | undefined): string {
  const unwrapped = unwrapRuntimeError(cause);
  if (unwrapped) return unwrapped;
  return `${error ?? ""}: ${cause ?? ""}`.replace(/^: |: $/g, "").trim();
}

// Returns undefined when the cause is not a runtime's error object.
function unwrapRuntimeError(cause: string | undefined): string | undefined {
  if (!cause?.trimStart().startsWith("{")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(cause);
  } catch {
    // A cause cut to its stored length is no longer valid JSON: read the two fields directly.
    const errorType = /"errorType"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(cause)?.[1];
    const errorMessage = /"errorMessage"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(cause)?.[1];
    if (errorType === undefined && errorMessage === undefined) return undefined;
    return `${errorType ?? "Error"}: ${unescapeJson(errorMessage ?? "")}`;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { errorType, errorMessage } = parsed as { errorType?: unknown; errorMessage?: unknown };
  if (typeof errorType !== "string" && typeof errorMessage !== "string") return undefined;
  return `${typeof errorType === "string" ? errorType : "Error"}: ${typeof errorMessage === "string" ? errorMessage : ""}`;
}

function unescapeJson(text: string): string {
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return text;
  }
}
