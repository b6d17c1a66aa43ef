import { parseArgs } from "node:util";
import type { EnvironmentFindings } from "../diagnostics/leak-findings.ts";
import { table } from "../report/terminal-summary.ts";

const HELP = `Usage: warmstate inspect [FUNCTION] [--endpoint URL] [--json]

Shows the environments of a running simulator with their leak diagnostics:
growth per invocation of open descriptors, /tmp bytes and resident memory, the
invocation at which each will reach its limit (or the first invocation that
failed with EMFILE, ENOSPC or an out-of-memory kill), and what grows.

  --endpoint URL   the simulator (default http://127.0.0.1:4700)
  --json           print the raw diagnostics as JSON`;

interface DiagnosticsResponse {
  environments: Array<{
    environmentId: string;
    functionName: string;
    status: string;
    endReason?: string;
    invocations: number;
    findings: EnvironmentFindings;
  }>;
  leaking: number;
}

const MB = 1024 * 1024;

/** `warmstate inspect`: prints live leak diagnostics of a running simulator. */
export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: "string", default: "http://127.0.0.1:4700" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  const functionName = positionals[0];
  const url = new URL("/_warmstate/diagnostics", values.endpoint);
  if (functionName) url.searchParams.set("function", functionName);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    console.error(
      `Could not reach ${values.endpoint}: ${(error as Error).message}. Start it with \`warmstate serve\` or pass --endpoint.`,
    );
    return 1;
  }
  if (response.status === 404 && functionName) {
    console.error(await functionNotFoundMessage(functionName, values.endpoint));
    return 1;
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    console.error(
      `GET ${url} failed with ${response.status}: ${body.message ?? response.statusText}`,
    );
    return 1;
  }
  const diagnostics = (await response.json()) as DiagnosticsResponse;
  if (values.json) {
    console.log(JSON.stringify(diagnostics, null, 2));
    return 0;
  }
  console.log(renderInspection(diagnostics, functionName));
  return 0;
}

/** Functions named in the not-found message; the rest are counted. */
const MAX_NAMED_FUNCTIONS = 10;

// One line that names the function and what to do, with the simulator's
// functions when the admin API lists them.
async function functionNotFoundMessage(functionName: string, endpoint: string): Promise<string> {
  let known = "";
  try {
    const response = await fetch(new URL("/_warmstate/functions", endpoint));
    const functions = (await response.json()) as Array<{ functionName: string }>;
    const names = functions.map((summary) => summary.functionName).sort();
    const more = names.length - MAX_NAMED_FUNCTIONS;
    known =
      names.length === 0
        ? " It has no functions yet."
        : ` Its functions: ${names.slice(0, MAX_NAMED_FUNCTIONS).join(", ")}${more > 0 ? ` and ${more} more` : ""}.`;
  } catch {
    // The list is only a hint, so the message goes out without it.
  }
  return (
    `Function "${functionName}" not found on ${endpoint}.${known} ` +
    `List them with \`aws lambda list-functions --endpoint-url ${endpoint}\`, or run \`warmstate inspect\` without a name.`
  );
}

/** Renders the diagnostics as a table of environments followed by the findings. */
export function renderInspection(diagnostics: DiagnosticsResponse, functionName?: string): string {
  if (diagnostics.environments.length === 0) {
    return `No environments${functionName ? ` of ${functionName}` : ""} have run since the simulator started.`;
  }
  const rows = diagnostics.environments.map(
    ({ environmentId, functionName: name, status, invocations, findings }) => {
      const { descriptors, tmpBytes, memoryBytes } = findings.trends;
      return [
        name,
        environmentId,
        status,
        String(invocations),
        `${descriptors.last} (${signed(descriptors.perInvocation, 2)}/inv)`,
        `${(tmpBytes.last / MB).toFixed(1)} MB (${signed(tmpBytes.perInvocation / MB, 2)} MB/inv)`,
        `${(memoryBytes.last / MB).toFixed(0)} MB (${signed(memoryBytes.perInvocation / MB, 2)} MB/inv)`,
      ];
    },
  );
  const lines = table(
    ["function", "environment", "status", "invocations", "descriptors", "/tmp", "memory"],
    rows,
  );
  lines.push("");
  const leaking = diagnostics.environments.filter(
    (environment) => environment.findings.messages.length > 0,
  );
  if (leaking.length === 0) {
    lines.push("No findings: no environment grows steadily or has filled a limit.");
  } else {
    for (const { functionName: name, environmentId, findings } of leaking) {
      lines.push(`${name} ${environmentId}:`);
      for (const message of findings.messages) lines.push(`  ${message}`);
    }
  }
  return lines.join("\n");
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}
