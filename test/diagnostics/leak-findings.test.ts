import { describe, expect, it } from "vitest";
import { type ProbePoint, findLeaks, namePattern } from "../../simulator/diagnostics/leak-findings.ts";
import { theilSenFit } from "../../simulator/diagnostics/robust-fit.ts";
import type { ResourceSample } from "../../simulator/sandbox/backend.ts";

const MB = 1024 * 1024;
const limits = { descriptors: 1024, tmpBytes: 512 * MB, memoryBytes: 1024 * MB };

function sample(overrides: Partial<ResourceSample>): ResourceSample {
  return {
    openDescriptors: 20,
    descriptorTargets: [],
    tmpBytes: 0,
    tmpFiles: 0,
    tmpDeletedOpenBytes: 0,
    residentBytes: 80 * MB,
    peakResidentBytes: 80 * MB,
    processCount: 1,
    ...overrides,
  };
}

// Descriptors of a runtime that leaks one /tmp/page-N.pdf per invocation.
function leakingPoints(count: number): ProbePoint[] {
  const base = ["/dev/null", "pipe:[100]", "socket:[200]", "anon_inode:[eventpoll]"];
  return Array.from({ length: count }, (_, index) => {
    const n = index + 1;
    const pages = Array.from({ length: n }, (_, page) => `/tmp/page-${page + 1}.pdf`);
    const transient = n % 10 === 0 ? ["socket:[999]", "socket:[998]", "socket:[997]"] : [];
    const descriptorTargets = [...base, ...pages, ...transient];
    return { invocationNumber: n, at: n * 1_000, sample: sample({ openDescriptors: descriptorTargets.length, descriptorTargets }) };
  });
}

describe("robust fit", () => {
  it("recovers a line despite spikes", () => {
    const xs = Array.from({ length: 100 }, (_, index) => index);
    const ys = xs.map((x) => 3 + 2 * x + (x % 17 === 0 ? 500 : 0));
    const fit = theilSenFit(xs, ys);

    expect(fit?.slope).toBeCloseTo(2, 5);
    expect(fit?.intercept).toBeCloseTo(3, 5);
  });

  it("returns nothing for a single x value", () => {
    expect(theilSenFit([5, 5], [1, 2])).toBeUndefined();
  });
});

describe("leak findings", () => {
  it("forecasts EMFILE for one leaked descriptor per invocation", () => {
    const findings = findLeaks({ environmentId: "env-1", functionName: "pdf-analyze", limits, points: leakingPoints(100) });
    const { descriptors } = findings.trends;

    expect(descriptors.leaking).toBe(true);
    expect(descriptors.perInvocation).toBeCloseTo(1, 5);
    // 4 base descriptors + n pages exceed 1,024 at n = 1,021.
    expect(descriptors.forecastInvocation).toBe(1021);
  });

  it("groups the growth by name pattern", () => {
    const findings = findLeaks({ environmentId: "env-1", functionName: "pdf-analyze", limits, points: leakingPoints(49) });

    expect(findings.descriptorGrowth).toEqual([{ pattern: "/tmp/page-*.pdf", added: 48, perInvocation: 1 }]);
    expect(findings.messages[0]).toContain("+1.00 descriptor per invocation, all to /tmp/page-*.pdf");
  });

  it("forecasts ENOSPC from /tmp growth", () => {
    const points = Array.from({ length: 20 }, (_, index) => ({
      invocationNumber: index + 1,
      at: index,
      sample: sample({ tmpBytes: (index + 1) * 10 * MB }),
    }));
    const findings = findLeaks({ environmentId: "env-2", functionName: "pdf-split", limits, points });

    expect(findings.trends.tmpBytes.leaking).toBe(true);
    expect(findings.trends.tmpBytes.forecastInvocation).toBe(52);
    expect(findings.messages.join(" ")).toContain("ENOSPC expected at invocation 52");
  });

  it("reports deleted files that are still open", () => {
    const points = Array.from({ length: 6 }, (_, index) => ({
      invocationNumber: index + 1,
      at: index,
      sample: sample({ tmpBytes: 30 * MB, tmpDeletedOpenBytes: 30 * MB }),
    }));
    const findings = findLeaks({ environmentId: "env-3", functionName: "pdf-split", limits, points });

    expect(findings.tmpDeletedOpenBytes).toBe(30 * MB);
    expect(findings.messages.join(" ")).toContain("30.0 MB of /tmp is held by deleted files that are still open");
  });

  it("finds nothing in a steady environment", () => {
    const points = Array.from({ length: 200 }, (_, index) => ({
      invocationNumber: index + 1,
      at: index,
      sample: sample({ openDescriptors: 20 + (index % 3), residentBytes: (80 + (index % 5)) * MB }),
    }));
    const findings = findLeaks({ environmentId: "env-4", functionName: "pdf-analyze", limits, points });

    expect(findings.messages).toEqual([]);
    expect(findings.trends.descriptors.leaking).toBe(false);
    expect(findings.trends.memoryBytes.leaking).toBe(false);
  });

  it("needs ten probes for a verdict", () => {
    const findings = findLeaks({ environmentId: "env-5", functionName: "pdf-analyze", limits, points: leakingPoints(9) });
    expect(findings.trends.descriptors.leaking).toBe(false);
  });
});

describe("name patterns", () => {
  it("replaces numbers and drops the deleted marker", () => {
    expect(namePattern("/tmp/page-12.pdf (deleted)")).toBe("/tmp/page-*.pdf");
    expect(namePattern("socket:[48213]")).toBe("socket:[*]");
  });
});
