import type { EnvironmentRecord } from "../report/run-data.ts";
import type { ResourceSample, TmpFileGroup } from "../sandbox/backend.ts";
import { type EnvironmentFindings, findLeaks } from "./leak-findings.ts";

/**
 * Computes the findings of a recorded environment. The record keeps
 * descriptor targets and /tmp file groups only at its first and last probe,
 * which is all the growth grouping compares.
 */
export function findingsOfRecord(environment: EnvironmentRecord): EnvironmentFindings {
  const lastIndex = environment.points.length - 1;
  return findLeaks({
    environmentId: environment.environmentId,
    functionName: environment.functionName,
    limits: environment.limits,
    ...(environment.failures && { failures: environment.failures }),
    points: environment.points.map((point, index) => {
      let descriptorTargets: string[] = [];
      let tmpFileGroups: TmpFileGroup[] | undefined;
      if (index === 0) {
        descriptorTargets = environment.firstTargets;
        tmpFileGroups = environment.firstTmpGroups;
      } else if (index === lastIndex) {
        descriptorTargets = environment.lastTargets;
        tmpFileGroups = environment.lastTmpGroups;
      }
      const sample: ResourceSample = {
        openDescriptors: point.descriptors,
        descriptorTargets,
        tmpBytes: point.tmpBytes,
        tmpFiles: point.tmpFiles ?? 0,
        tmpDeletedOpenBytes: point.tmpDeletedOpenBytes,
        residentBytes: point.residentBytes,
        peakResidentBytes: point.residentBytes,
        processCount: 0,
      };
      if (tmpFileGroups) sample.tmpFileGroups = tmpFileGroups;
      return { invocationNumber: point.n, at: point.at, sample };
    }),
  });
}
