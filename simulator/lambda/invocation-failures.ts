/**
 * Payloads Lambda returns when an invocation fails outside the handler's own
 * error handling: timeouts, runtime exits, out-of-memory kills, oversize
 * responses. The shapes follow what Lambda returns to Invoke callers:
 * `{"errorType": "...", "errorMessage": "RequestId: ID Error: ..."}` with
 * X-Amz-Function-Error set to Unhandled.
 * https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
 */
import type { InvocationOutcome } from "./types.ts";

/** A failure the simulator reports on behalf of the runtime. */
export interface InvocationFailure {
  outcome: InvocationOutcome;
  errorType: string;
  errorMessage: string;
}

/** Response payloads above 6 MB (6,291,556 bytes as Lambda counts them) fail. */
export const MAX_RESPONSE_BYTES = 6_291_556;

/** Sandbox.Timedout: "Task timed out after 3.00 seconds". */
export function timeoutFailure(requestId: string, timeoutSeconds: number): InvocationFailure {
  return {
    outcome: "timeout",
    errorType: "Sandbox.Timedout",
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
  };
}

/** Runtime.ExitError, or Runtime.OutOfMemory when the memory limit killed the runtime. */
export function exitFailure(
  requestId: string,
  exit: { exitCode: number | null; signal: string | null; outOfMemory: boolean },
): InvocationFailure {
  if (exit.outOfMemory) {
    return {
      outcome: "out-of-memory",
      errorType: "Runtime.OutOfMemory",
      errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
    };
  }
  let detail = "Runtime exited without providing a reason";
  if (exit.signal) {
    detail = `Runtime exited with error: signal: ${signalDescription(exit.signal)}`;
  } else if (exit.exitCode !== null && exit.exitCode !== 0) {
    detail = `Runtime exited with error: exit status ${exit.exitCode}`;
  }
  return {
    outcome: "runtime-exit",
    errorType: "Runtime.ExitError",
    errorMessage: `RequestId: ${requestId} Error: ${detail}`,
  };
}

/** Function.ResponseSizeTooLarge for a response above {@link MAX_RESPONSE_BYTES}. */
export function responseTooLargeFailure(bytes: number): InvocationFailure {
  return {
    outcome: "response-too-large",
    errorType: "Function.ResponseSizeTooLarge",
    errorMessage: `Response payload size (${bytes} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
  };
}

/** Serialises a failure the way Lambda returns it in the Invoke response body. */
export function failurePayload(failure: InvocationFailure): Buffer {
  return Buffer.from(
    JSON.stringify({ errorType: failure.errorType, errorMessage: failure.errorMessage }),
  );
}

// Go's os/exec prints signals by name ("killed", "segmentation fault"), and
// Lambda's messages come from there.
function signalDescription(signal: string): string {
  const names: Record<string, string> = {
    SIGKILL: "killed",
    SIGSEGV: "segmentation fault",
    SIGABRT: "aborted",
    SIGTERM: "terminated",
    SIGBUS: "bus error",
    SIGILL: "illegal instruction",
  };
  return names[signal] ?? signal.toLowerCase();
}
