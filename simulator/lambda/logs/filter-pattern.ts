/**
 * CloudWatch Logs filter patterns for unstructured lines: every plain term
 * or "quoted phrase" must appear, `?term` means any of the optional terms,
 * `-term` excludes. Matching is case-sensitive, as CloudWatch's is. An empty
 * pattern matches everything.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 *
 * TODO(logs): JSON and space-delimited patterns (`{ $.level = "error" }`,
 * `[ip, user, ...]`) are matched as plain terms; CloudWatch parses them.
 */
export function compileFilterPattern(pattern: string): (message: string) => boolean {
  const required: string[] = [];
  const optional: string[] = [];
  const excluded: string[] = [];

  const tokens = pattern.match(/[?-]?"[^"]*"|\S+/g) ?? [];
  for (const token of tokens) {
    const prefix = token[0] === "?" || token[0] === "-" ? token[0] : "";
    let term = prefix ? token.slice(1) : token;
    if (term.startsWith('"') && term.endsWith('"') && term.length >= 2) term = term.slice(1, -1);
    if (term === "") continue;
    if (prefix === "?") optional.push(term);
    else if (prefix === "-") excluded.push(term);
    else required.push(term);
  }

  return (message) =>
    required.every((term) => message.includes(term)) &&
    (optional.length === 0 || optional.some((term) => message.includes(term))) &&
    !excluded.some((term) => message.includes(term));
}
