/** Counts with their noun in the right number, for terminal and HTML text. */

/** Formats a count with its noun, e.g. "1 environment", "2 environments", "0 failed documents". */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
