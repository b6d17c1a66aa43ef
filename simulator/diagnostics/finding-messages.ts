/**
 * The sentences of the leak findings, as terminals, report.html, the live
 * diagnostics route and `warmstate inspect` print them.
 */
import type { EnvironmentFindings, ResourceTrend, TmpGrowthGroup } from "./leak-findings.ts";

const MB = 1024 * 1024;
/** Growing /tmp patterns described one by one. The JSON findings list the rest. */
const MAX_TMP_GROUP_MESSAGES = 3;

/** Writes one sentence per finding of an environment. */
export function describeFindings(findings: EnvironmentFindings): string[] {
  const messages: string[] = [];
  const { descriptors, tmpBytes, memoryBytes } = findings.trends;

  const recorded = findings.failuresRecorded;
  if (descriptors.leaking) {
    const top = findings.descriptorGrowth[0];
    const share =
      top && findings.descriptorGrowth.length === 1
        ? `, all to ${top.pattern}`
        : top
          ? `, mostly to ${top.pattern} (${top.added} of ${findings.descriptorGrowth.reduce((sum, group) => sum + group.added, 0)})`
          : "";
    messages.push(
      `+${descriptors.perInvocation.toFixed(2)} descriptor per invocation${share}; ${descriptors.last} of ${descriptors.limit} open, ` +
        outlook(descriptors, recorded),
    );
  }
  const descriptorsFull = fullWithoutGrowth(descriptors, recorded, String);
  if (descriptorsFull) messages.push(descriptorsFull);
  if (tmpBytes.leaking) {
    messages.push(
      `+${(tmpBytes.perInvocation / MB).toFixed(2)} MB of /tmp per invocation; ` +
        `${(tmpBytes.last / MB).toFixed(0)} of ${(tmpBytes.limit / MB).toFixed(0)} MB used, ${outlook(tmpBytes, recorded)}`,
    );
  }
  const tmpFull = fullWithoutGrowth(tmpBytes, recorded, megabytes);
  if (tmpFull) messages.push(tmpFull);
  messages.push(...describeTmpGrowth(findings));
  if (findings.tmpDeletedOpenBytes > 0) {
    messages.push(describeDeletedOpen(findings));
  }
  if (memoryBytes.leaking) messages.push(describeMemoryGrowth(memoryBytes, recorded));
  return messages;
}

const megabytes = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

/** Name of each resource in the findings, the failure it ends in, and the phrase for no failure yet. */
const WORDS: Record<ResourceTrend["resource"], { noun: string; failure: string; none: string }> = {
  descriptors: {
    noun: "descriptors",
    failure: "EMFILE",
    none: "no invocation has failed with EMFILE yet",
  },
  tmpBytes: { noun: "/tmp", failure: "ENOSPC", none: "no invocation has failed with ENOSPC yet" },
  memoryBytes: {
    noun: "memory",
    failure: "out-of-memory kill",
    none: "no invocation has been killed for memory yet",
  },
};

// Describes a resource that filled up but no longer grows. Either it stays
// full and every invocation fails, or a reset or the function released it.
function fullWithoutGrowth(
  trend: ResourceTrend,
  recorded: boolean,
  format: (value: number) => string,
): string | undefined {
  if (trend.leaking || trend.reachedAtInvocation === undefined) return undefined;
  const { noun } = WORDS[trend.resource];
  const usage = `${format(trend.last)} of ${format(trend.limit)}`;
  const stillFull = trend.last >= trend.limit * 0.97;
  const failed = failurePhrase(trend, recorded, stillFull);
  const history = `${noun} ${reachedPhrase(trend, true)}${failed ? `, and ${failed}` : ""}`;
  if (stillFull) return `${history}; ${usage} in use.`;
  return `${history}; now ${usage} in use, after a reset or a release.`;
}

// Says when a growing resource ran out, or when it will. Only a failed
// invocation in the records counts as running out: a probe at 97% of /tmp
// proves only that it was nearly full.
function outlook(trend: ResourceTrend, recorded: boolean): string {
  const failed = failurePhrase(trend, recorded, true);
  if (trend.reachedAtInvocation !== undefined)
    return `${reachedPhrase(trend, false)}${failed ? `, and ${failed}` : ""}.`;
  if (trend.failedAtInvocation !== undefined) return `${failed}.`;
  return `${WORDS[trend.resource].failure} expected at invocation ${trend.forecastInvocation}.`;
}

// "reached the limit at invocation 1004" as a sentence, "at the limit from invocation 1004" in a list.
function reachedPhrase(trend: ResourceTrend, asSentence: boolean): string {
  const at = trend.reachedAtInvocation;
  if (trend.resource === "descriptors")
    return asSentence
      ? `reached the limit at invocation ${at}`
      : `at the limit from invocation ${at}`;
  return `${asSentence ? "was " : ""}nearly full (97%) at invocation ${at}`;
}

// Names the first failure the records show. Without records, a descriptor
// table that is still full means the next open fails; other cases get no claim.
function failurePhrase(trend: ResourceTrend, recorded: boolean, stillFull: boolean): string {
  const { failure, none } = WORDS[trend.resource];
  if (trend.failedAtInvocation !== undefined)
    return `the first ${failure} was at invocation ${trend.failedAtInvocation}`;
  if (trend.reachedAtInvocation === undefined) return "";
  if (recorded) return none;
  return trend.resource === "descriptors" && stillFull ? `the next open fails with ${failure}` : "";
}

// Memory growth that an out-of-memory kill or another reset ended is
// described up to that reset, because the new runtime starts from scratch.
function describeMemoryGrowth(trend: ResourceTrend, recorded: boolean): string {
  const growth = `+${(trend.perInvocation / MB).toFixed(2)} MB`;
  const usage = `${(trend.last / MB).toFixed(0)} of ${(trend.limit / MB).toFixed(0)} MB`;
  const reset = trend.endedByReset;
  if (reset) {
    const end =
      reset.outcome === "out-of-memory"
        ? `the out-of-memory kill at invocation ${reset.invocationNumber}`
        : `the runtime reset at invocation ${reset.invocationNumber} (${reset.outcome})`;
    const kills =
      (trend.outOfMemoryKills ?? 0) > 1
        ? ` ${trend.outOfMemoryKills} out-of-memory kills in all, the first at invocation ${trend.failedAtInvocation}.`
        : "";
    return `Resident memory grew ${growth} per invocation until ${end}; ${usage} at the last probe before it.${kills}`;
  }
  return `${growth} of resident memory per invocation; ${usage}, ${outlook(trend, recorded)}`;
}

// Names the /tmp patterns that leak. While the /tmp bytes leak as a whole,
// the largest growing patterns are named even when none leaks on its own.
function describeTmpGrowth(findings: EnvironmentFindings): string[] {
  const named = findings.trends.tmpBytes.leaking
    ? findings.tmpGrowth.filter((group) => group.leaking || group.bytesAdded > 0)
    : findings.tmpGrowth.filter((group) => group.leaking);
  const messages = named.slice(0, MAX_TMP_GROUP_MESSAGES).map(describeTmpGroup);
  const more = named.length - MAX_TMP_GROUP_MESSAGES;
  if (more > 0)
    messages.push(
      `${more} more /tmp file ${more === 1 ? "pattern grows" : "patterns grow"}; the JSON findings list them under tmpGrowth.`,
    );
  return messages;
}

function describeTmpGroup(group: TmpGrowthGroup): string {
  const about = group.bytesEstimated ? "about " : "";
  const total = `${about}${formatBytes(group.bytes)}`;
  if (group.deleted) {
    const files = countOf(group.filesPerInvocation, "deleted file", "deleted files");
    return (
      `+${files} still open per invocation (${about}+${formatBytes(group.bytesPerInvocation)}), ${group.pattern} (deleted); ` +
      `${group.files} held, ${total} in all.`
    );
  }

  const slash = group.pattern.lastIndexOf("/");
  const folder = group.pattern.slice(0, slash);
  const name = group.pattern.slice(slash + 1);
  if (group.filesAdded <= 0) {
    return `${about}+${formatBytes(group.bytesPerInvocation)} per invocation written to existing files in ${folder} named ${name}; ${total} in all.`;
  }
  const files = countOf(group.filesPerInvocation, "file", "files");
  return (
    `+${files} (${about}+${formatBytes(group.bytesPerInvocation)}) per invocation in ${folder}, named ${name}; ` +
    `${group.files} files, ${total} in all.`
  );
}

// Deleted files still use their blocks, so statfs counts them while a listing of /tmp does not show them.
function describeDeletedOpen(findings: EnvironmentFindings): string {
  const usedSpace = `${(findings.tmpDeletedOpenBytes / MB).toFixed(1)} MB of /tmp is held by deleted files that are still open`;
  if (findings.tmpDeletedOpenGroups.length === 0)
    return `${usedSpace}: it counts as used space until the descriptors close.`;

  const groups = findings.tmpDeletedOpenGroups
    .slice(0, MAX_TMP_GROUP_MESSAGES)
    .map((group) => `${countOf(group.files, "file", "files")} named ${group.pattern} (deleted)`);
  const more = findings.tmpDeletedOpenGroups.length - groups.length;
  if (more > 0) groups.push(`${more} more patterns`);
  return `${usedSpace}: ${groups.join(", ")}. They count as used space until their descriptors close.`;
}

// Whole numbers print without decimals ("+3 files"), others with two ("+0.50 files").
function countOf(value: number, singular: string, plural: string): string {
  const rounded =
    Math.abs(value - Math.round(value)) < 0.005 ? String(Math.round(value)) : value.toFixed(2);
  return `${rounded} ${rounded === "1" ? singular : plural}`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 0.1 * MB) return `${(bytes / MB).toFixed(2)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${Math.round(bytes)} B`;
}
