/**
 * Leak diagnostics for one execution environment: how much each resource
 * grows per invocation (a robust fit over the probe series), at which
 * invocation it will reach its limit, and what grows (descriptor targets and
 * /tmp names, grouped by pattern).
 */
import type { ResourceSample, TmpFileGroup } from "../sandbox/backend.ts";
import { pathPattern } from "../sandbox/tmp-listing.ts";
import { describeFindings } from "./finding-messages.ts";
import { theilSenFit } from "./robust-fit.ts";
import {
  type EnvironmentFailures,
  type RuntimeReset,
  runtimeSegment,
  withoutResetProbes,
} from "./runtime-resets.ts";

export type { EnvironmentFailures, RuntimeReset };

/** Resources the diagnostics follow; each has a limit of the same name. */
export type TrackedResource = keyof EnvironmentLimits;

/** Limits of one environment, in descriptors and bytes. */
export interface EnvironmentLimits {
  /** RLIMIT_NOFILE, 1,024 on Lambda. */
  descriptors: number;
  /** Ephemeral storage size in bytes. */
  tmpBytes: number;
  /** Memory size in bytes. */
  memoryBytes: number;
}

/** One probe: the resources right after invocation `invocationNumber` of the environment. */
export interface ProbePoint {
  invocationNumber: number;
  /** Simulated epoch milliseconds of the invocation start. */
  at: number;
  sample: ResourceSample;
}

/** The probe series of one environment. */
export interface EnvironmentSeries {
  environmentId: string;
  functionName: string;
  limits: EnvironmentLimits;
  points: ProbePoint[];
  /** Failures from the invocation records. Without them, the findings rely on the probes alone. */
  failures?: EnvironmentFailures;
}

/**
 * Trend of one resource over an environment's invocations. For descriptors
 * and memory it covers one runtime process: the latest one with enough
 * probes, which may be one that a reset ended (see `endedByReset`).
 */
export interface ResourceTrend {
  resource: TrackedResource;
  /** Robust growth per invocation, in descriptors or bytes. */
  perInvocation: number;
  first: number;
  last: number;
  limit: number;
  /** Invocation number at which the fitted line crosses the limit, when it grows. */
  forecastInvocation?: number;
  /**
   * First invocation whose probe was at the limit, when one was. /tmp and
   * memory count from 97% of their size: a full /tmp reads a little under
   * its size, and the memory limit kills a runtime before a probe can read it.
   */
  reachedAtInvocation?: number;
  /**
   * First invocation that failed because this resource ran out, when the
   * invocation records show one: ENOSPC for /tmp, EMFILE for descriptors, an
   * out-of-memory kill for memory.
   */
  failedAtInvocation?: number;
  /** The reset that ended the runtime process this trend covers, when one did. */
  endedByReset?: RuntimeReset;
  /** Out-of-memory kills of the environment, for the memory trend. */
  outOfMemoryKills?: number;
  /** True when the growth is steady and large enough to call a leak. */
  leaking: boolean;
}

/** Things that grew between the first and the last probe, grouped by name pattern. */
export interface GrowthGroup {
  /** Name with numbers replaced by `*`, such as `/tmp/page-*.pdf` or `socket:[*]`. */
  pattern: string;
  added: number;
  perInvocation: number;
}

/** Growth of the /tmp files of one name pattern between the first and the last probe. */
export interface TmpGrowthGroup {
  /** Path pattern inside the sandbox, such as `/tmp/page-*.png`. */
  pattern: string;
  /** True for files that are deleted but still held by a descriptor. */
  deleted: boolean;
  /** One path of the group at the last probe. */
  example: string;
  filesAdded: number;
  bytesAdded: number;
  filesPerInvocation: number;
  bytesPerInvocation: number;
  /** Files of the group at the last probe. */
  files: number;
  /** Bytes of the group at the last probe. */
  bytes: number;
  /** True when the probes extrapolated part of the group's bytes from a sample of its files. */
  bytesEstimated: boolean;
  /** True when the group grows by enough files or bytes per invocation to call a leak. */
  leaking: boolean;
}

/** Findings for one environment. */
export interface EnvironmentFindings {
  environmentId: string;
  functionName: string;
  /** Invocation number of the last probe. */
  invocations: number;
  trends: Record<TrackedResource, ResourceTrend>;
  descriptorGrowth: GrowthGroup[];
  /** /tmp pattern groups that grew, most bytes added first. Empty when the backend does not list /tmp. */
  tmpGrowth: TmpGrowthGroup[];
  /** Bytes of /tmp held by deleted files that are still open, at the last probe. */
  tmpDeletedOpenBytes: number;
  /** Deleted files still open at the last probe, by pattern, when the backend lists them. */
  tmpDeletedOpenGroups: TmpFileGroup[];
  /** True when the invocation records were available, so a failure they do not show did not happen. */
  failuresRecorded: boolean;
  /** One sentence per finding, for terminals and reports. */
  messages: string[];
}

/**
 * A resource leaks when it grows by at least this much per invocation. The
 * thresholds sit above the noise of a healthy Node.js runtime (a socket that
 * comes and goes, the heap breathing between collections).
 */
const LEAK_THRESHOLDS: Record<TrackedResource, number> = {
  descriptors: 0.2,
  tmpBytes: 16 * 1024,
  memoryBytes: 512 * 1024,
};
/**
 * A leak must also have grown by this much in all, so a connection pool
 * that opens its second socket is not called a leak.
 */
const MIN_GROWTH: Record<TrackedResource, number> = {
  descriptors: 5,
  tmpBytes: 8 * 1024 * 1024,
  memoryBytes: 32 * 1024 * 1024,
};
/**
 * Fewer probes than this give no verdict: in its first invocations a runtime
 * fills its connection pools and heap, which looks like growth.
 */
const MIN_POINTS = 10;
/** New /tmp files of one pattern per invocation that make a leak. */
const FILE_LEAK_THRESHOLD = 0.2;
/** New /tmp files of one pattern in all that a leak needs, like MIN_GROWTH. */
const MIN_FILES_ADDED = 5;

/** Computes the findings of one environment. */
export function findLeaks(series: EnvironmentSeries): EnvironmentFindings {
  const points = [...series.points].sort((a, b) => a.invocationNumber - b.invocationNumber);
  const xs = points.map((point) => point.invocationNumber);
  const readings: Record<TrackedResource, number[]> = {
    descriptors: points.map((point) => point.sample.openDescriptors),
    tmpBytes: points.map((point) => point.sample.tmpBytes),
    memoryBytes: points.map((point) => point.sample.residentBytes),
  };

  const failures = series.failures;
  const resets = failures?.resets ?? [];
  const failedAt: Record<TrackedResource, number | undefined> = {
    descriptors: failures?.firstEmfileInvocation,
    tmpBytes: failures?.firstEnospcInvocation,
    memoryBytes: failures?.firstOutOfMemoryInvocation,
  };

  const trends = {} as Record<TrackedResource, ResourceTrend>;
  for (const resource of Object.keys(readings) as TrackedResource[]) {
    const ys = readings[resource];
    // A reset keeps /tmp but starts a new runtime process, with fresh memory and descriptors.
    const perRuntime = resource !== "tmpBytes";
    const segment = perRuntime ? runtimeSegment(xs, ys, resets, MIN_POINTS) : { xs, ys };
    const all = perRuntime ? withoutResetProbes(xs, ys, resets) : { xs, ys };
    const trend = trendOf(resource, segment.xs, segment.ys, series.limits[resource], all);
    if (failedAt[resource] !== undefined) trend.failedAtInvocation = failedAt[resource];
    if (segment.endedBy) trend.endedByReset = segment.endedBy;
    if (resource === "memoryBytes" && failures?.outOfMemoryKills)
      trend.outOfMemoryKills = failures.outOfMemoryKills;
    trends[resource] = trend;
  }

  const first = points[0]?.sample;
  const last = points[points.length - 1]?.sample;
  const span = points.length > 1 ? xs[xs.length - 1] - xs[0] : 0;
  const descriptorGrowth =
    first && last ? growthGroups(first.descriptorTargets, last.descriptorTargets, span) : [];
  const tmpGrowth = tmpGrowthGroups(
    first?.tmpFileGroups,
    last?.tmpFileGroups,
    span,
    tmpStillGrowing(xs, points),
  );

  const findings: EnvironmentFindings = {
    environmentId: series.environmentId,
    functionName: series.functionName,
    invocations: xs[xs.length - 1] ?? 0,
    trends,
    descriptorGrowth,
    tmpGrowth,
    tmpDeletedOpenBytes: last?.tmpDeletedOpenBytes ?? 0,
    tmpDeletedOpenGroups: last?.tmpFileGroups?.filter((group) => group.deleted) ?? [],
    failuresRecorded: failures !== undefined,
    messages: [],
  };
  findings.messages = describeFindings(findings);
  return findings;
}

// Fits the trend on `xs`/`ys` and finds the first probe at the limit in `all`.
function trendOf(
  resource: TrackedResource,
  xs: number[],
  ys: number[],
  limit: number,
  all: { xs: number[]; ys: number[] },
): ResourceTrend {
  const trend: ResourceTrend = {
    resource,
    perInvocation: 0,
    first: ys[0] ?? 0,
    last: ys[ys.length - 1] ?? 0,
    limit,
    leaking: false,
  };
  // A full /tmp reads a little under its size, because the file system keeps
  // blocks for itself. A descriptor table is full at the limit: with one slot
  // left, the next open still succeeds.
  const fullAt = resource === "descriptors" ? limit : limit * 0.97;
  const reached = all.ys.findIndex((y) => y >= fullAt);
  if (reached >= 0) trend.reachedAtInvocation = all.xs[reached];

  // /tmp fills in steps as large as each document's files, so the median
  // step (what the robust fit follows) underestimates the growth: its
  // forecast uses the average growth between the first and the last probe.
  const fit = resource === "tmpBytes" ? averageFit(xs, ys) : theilSenFit(xs, ys);
  if (!fit) return trend;

  trend.perInvocation = fit.slope;
  trend.leaking =
    xs.length >= MIN_POINTS &&
    fit.slope >= LEAK_THRESHOLDS[resource] &&
    trend.last - trend.first >= MIN_GROWTH[resource] &&
    stillGrowing(xs, ys, LEAK_THRESHOLDS[resource]);
  if (fit.slope > 0) {
    // The first invocation whose probe would pass the limit on the fitted line.
    trend.forecastInvocation = Math.max(
      xs[xs.length - 1],
      Math.floor((limit - fit.intercept) / fit.slope) + 1,
    );
  }
  return trend;
}

// The line through the first and the last point.
function averageFit(xs: number[], ys: number[]): { slope: number; intercept: number } | undefined {
  const span = xs[xs.length - 1] - xs[0];
  if (!(span > 0)) return undefined;
  const slope = (ys[ys.length - 1] - ys[0]) / span;
  return { slope, intercept: ys[0] - slope * xs[0] };
}

// The later half of the series must still grow, so growth that levelled off is no leak.
function stillGrowing(xs: number[], ys: number[], threshold: number): boolean {
  const half = Math.floor(xs.length / 2);
  const later = theilSenFit(xs.slice(half), ys.slice(half));
  return later !== undefined && later.slope >= threshold;
}

/** Whether /tmp still grows in the later half of the series, by what a growth group can add. */
interface TmpStillGrowing {
  visibleFiles: boolean;
  visibleBytes: boolean;
  /** Each deleted file that stays open keeps a descriptor, so the descriptors count those files. */
  deletedFiles: boolean;
  deletedBytes: boolean;
}

// The /tmp groups exist only at the first and last probe, so the per-probe
// totals tell whether their growth goes on or happened once, early.
function tmpStillGrowing(xs: number[], points: ProbePoint[]): TmpStillGrowing {
  if (points.length < MIN_POINTS) {
    return { visibleFiles: false, visibleBytes: false, deletedFiles: false, deletedBytes: false };
  }
  const series = (read: (sample: ResourceSample) => number) =>
    points.map((point) => read(point.sample));
  return {
    visibleFiles: stillGrowing(
      xs,
      series((sample) => sample.tmpFiles),
      FILE_LEAK_THRESHOLD,
    ),
    visibleBytes: stillGrowing(
      xs,
      series((sample) => sample.tmpBytes),
      LEAK_THRESHOLDS.tmpBytes,
    ),
    deletedFiles: stillGrowing(
      xs,
      series((sample) => sample.openDescriptors),
      FILE_LEAK_THRESHOLD,
    ),
    deletedBytes: stillGrowing(
      xs,
      series((sample) => sample.tmpDeletedOpenBytes),
      LEAK_THRESHOLDS.tmpBytes,
    ),
  };
}

/**
 * Replaces numbers with `*`, so `/tmp/page-12.pdf` and `/tmp/page-13.pdf`
 * group together, and drops the marker of a deleted file. The /tmp probes
 * group file names with the same rule.
 */
export function namePattern(name: string): string {
  return pathPattern(name.replace(/ \(deleted\)$/, ""));
}

function growthGroups(before: string[], after: string[], span: number): GrowthGroup[] {
  const counts = new Map<string, number>();
  for (const name of after) counts.set(namePattern(name), (counts.get(namePattern(name)) ?? 0) + 1);
  for (const name of before)
    counts.set(namePattern(name), (counts.get(namePattern(name)) ?? 0) - 1);
  return [...counts.entries()]
    .filter(([, added]) => added > 0)
    .map(([pattern, added]) => ({ pattern, added, perInvocation: span > 0 ? added / span : 0 }))
    .sort((a, b) => b.added - a.added);
}

// Compares the /tmp groups of the first and the last probe, deleted files apart.
function tmpGrowthGroups(
  first: TmpFileGroup[] | undefined,
  last: TmpFileGroup[] | undefined,
  span: number,
  growing: TmpStillGrowing,
): TmpGrowthGroup[] {
  if (!first || !last || span <= 0) return [];

  const keyOf = (group: TmpFileGroup) =>
    `${group.deleted ? "deleted" : "visible"} ${group.pattern}`;
  const before = new Map(first.map((group) => [keyOf(group), group]));
  const grown: TmpGrowthGroup[] = [];
  for (const group of last) {
    const earlier = before.get(keyOf(group));
    const filesAdded = group.files - (earlier?.files ?? 0);
    const bytesAdded = group.bytes - (earlier?.bytes ?? 0);
    if (filesAdded <= 0 && bytesAdded <= 0) continue;

    const filesPerInvocation = filesAdded / span;
    const bytesPerInvocation = bytesAdded / span;
    const filesLeak =
      filesPerInvocation >= FILE_LEAK_THRESHOLD &&
      filesAdded >= MIN_FILES_ADDED &&
      (group.deleted ? growing.deletedFiles : growing.visibleFiles);
    const bytesLeak =
      bytesPerInvocation >= LEAK_THRESHOLDS.tmpBytes &&
      bytesAdded >= MIN_GROWTH.tmpBytes &&
      (group.deleted ? growing.deletedBytes : growing.visibleBytes);
    const leaking = filesLeak || bytesLeak;
    grown.push({
      pattern: group.pattern,
      deleted: group.deleted,
      example: group.example,
      filesAdded,
      bytesAdded,
      filesPerInvocation,
      bytesPerInvocation,
      files: group.files,
      bytes: group.bytes,
      bytesEstimated: group.bytesEstimated || (earlier?.bytesEstimated ?? false),
      leaking,
    });
  }
  return grown.sort((a, b) => b.bytesAdded - a.bytesAdded || b.filesAdded - a.filesAdded);
}
