import { describe, expect, it } from "vitest";
import {
  findLeaks,
  namePattern,
  type ProbePoint,
} from "../../simulator/diagnostics/leak-findings.ts";
import { theilSenFit } from "../../simulator/diagnostics/robust-fit.ts";
import type { ResourceSample, TmpFileGroup } from "../../simulator/sandbox/backend.ts";

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
    return {
      invocationNumber: n,
      at: n * 1_000,
      sample: sample({ openDescriptors: descriptorTargets.length, descriptorTargets }),
    };
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
  it("calls descriptors full at the limit", () => {
    // 20 descriptors plus one per invocation: 1,023 after invocation 1,003 and
    // 1,024 after 1,004, so the table is full from invocation 1,004 on.
    const points = Array.from({ length: 1_004 }, (_, index) => {
      const n = index + 1;
      return { invocationNumber: n, at: n * 1_000, sample: sample({ openDescriptors: 20 + n }) };
    });
    const findings = findLeaks({ environmentId: "env-1", functionName: "leaky", limits, points });

    expect(findings.trends.descriptors.reachedAtInvocation).toBe(1004);
  });

  it("forecasts a /tmp that fills in uneven steps", () => {
    // Every fourth invocation writes 20 MB, the others 1 MB: 5.75 MB on average,
    // so 512 MB are used up around invocation 89.
    let used = 0;
    const points = Array.from({ length: 32 }, (_, index) => {
      const n = index + 1;
      used += (n % 4 === 0 ? 20 : 1) * MB;
      return { invocationNumber: n, at: n * 1_000, sample: sample({ tmpBytes: used }) };
    });
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "splitter",
      limits,
      points,
    });
    const forecast = findings.trends.tmpBytes.forecastInvocation ?? 0;

    expect(forecast).toBeGreaterThanOrEqual(85);
    expect(forecast).toBeLessThanOrEqual(93);
  });

  it("reports a full table that stopped growing", () => {
    // Full at invocation 1,004, then every invocation fails with EMFILE.
    const points = Array.from({ length: 2_500 }, (_, index) => {
      const n = index + 1;
      return {
        invocationNumber: n,
        at: n * 1_000,
        sample: sample({ openDescriptors: Math.min(20 + n, 1024) }),
      };
    });
    const findings = findLeaks({ environmentId: "env-1", functionName: "leaky", limits, points });

    expect(findings.trends.descriptors.leaking).toBe(false);
    expect(findings.messages).toContain(
      "descriptors reached the limit at invocation 1004, and the next open fails with EMFILE; 1024 of 1024 in use.",
    );
  });

  it("reports a table that filled before a reset", () => {
    // Full at invocation 1,004, then a reset starts a new runtime with 20 descriptors.
    const points = Array.from({ length: 2_500 }, (_, index) => {
      const n = index + 1;
      return {
        invocationNumber: n,
        at: n * 1_000,
        sample: sample({ openDescriptors: n <= 1_010 ? Math.min(20 + n, 1024) : 20 }),
      };
    });
    const findings = findLeaks({ environmentId: "env-1", functionName: "leaky", limits, points });

    expect(findings.messages.join("\n")).toContain(
      "descriptors reached the limit at invocation 1004; now 20 of 1024 in use, after a reset or a release.",
    );
  });

  it("forecasts EMFILE for one leaked descriptor per invocation", () => {
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "pdf-analyze",
      limits,
      points: leakingPoints(100),
    });
    const { descriptors } = findings.trends;

    expect(descriptors.leaking).toBe(true);
    expect(descriptors.perInvocation).toBeCloseTo(1, 5);
    // 4 base descriptors + n pages exceed 1,024 at n = 1,021.
    expect(descriptors.forecastInvocation).toBe(1021);
  });

  it("groups the growth by name pattern", () => {
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "pdf-analyze",
      limits,
      points: leakingPoints(49),
    });

    expect(findings.descriptorGrowth).toEqual([
      { pattern: "/tmp/page-*.pdf", added: 48, perInvocation: 1 },
    ]);
    expect(findings.messages[0]).toContain(
      "+1.00 descriptor per invocation, all to /tmp/page-*.pdf",
    );
  });

  it("forecasts ENOSPC from /tmp growth", () => {
    const points = Array.from({ length: 20 }, (_, index) => ({
      invocationNumber: index + 1,
      at: index,
      sample: sample({ tmpBytes: (index + 1) * 10 * MB }),
    }));
    const findings = findLeaks({
      environmentId: "env-2",
      functionName: "pdf-split",
      limits,
      points,
    });

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
    const findings = findLeaks({
      environmentId: "env-3",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.tmpDeletedOpenBytes).toBe(30 * MB);
    expect(findings.messages.join(" ")).toContain(
      "30.0 MB of /tmp is held by deleted files that are still open",
    );
  });

  it("finds nothing in a steady environment", () => {
    const points = Array.from({ length: 200 }, (_, index) => ({
      invocationNumber: index + 1,
      at: index,
      sample: sample({ openDescriptors: 20 + (index % 3), residentBytes: (80 + (index % 5)) * MB }),
    }));
    const findings = findLeaks({
      environmentId: "env-4",
      functionName: "pdf-analyze",
      limits,
      points,
    });

    expect(findings.messages).toEqual([]);
    expect(findings.trends.descriptors.leaking).toBe(false);
    expect(findings.trends.memoryBytes.leaking).toBe(false);
  });

  it("needs ten probes for a verdict", () => {
    const findings = findLeaks({
      environmentId: "env-5",
      functionName: "pdf-analyze",
      limits,
      points: leakingPoints(9),
    });
    expect(findings.trends.descriptors.leaking).toBe(false);
  });
});

// Probes of an environment whose /tmp gains `files` files of `bytes` each per invocation.
function tmpPoints(
  count: number,
  group: { pattern: string; files: number; bytes: number; deleted?: boolean },
): ProbePoint[] {
  return Array.from({ length: count }, (_, index) => {
    const n = index + 1;
    const files = n * group.files;
    const tmpFileGroups: TmpFileGroup[] = [
      {
        pattern: group.pattern,
        example: group.pattern.replace("*", String(n)),
        files,
        bytes: files * group.bytes,
        bytesEstimated: false,
        deleted: group.deleted ?? false,
      },
    ];
    const tmpBytes = files * group.bytes;
    return {
      invocationNumber: n,
      at: n * 1_000,
      sample: sample({
        // A deleted file that stays open keeps a descriptor and is no longer listed.
        openDescriptors: 20 + (group.deleted ? files : 0),
        tmpBytes,
        tmpFiles: group.deleted ? 0 : files,
        tmpDeletedOpenBytes: group.deleted ? tmpBytes : 0,
        tmpFileGroups,
      }),
    };
  });
}

describe("/tmp growth by name pattern", () => {
  it("names the pattern that fills /tmp", () => {
    const points = tmpPoints(20, { pattern: "/tmp/page-*.png", files: 3, bytes: 0.4 * MB });

    const findings = findLeaks({
      environmentId: "env-6",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.tmpGrowth).toHaveLength(1);
    expect(findings.tmpGrowth[0]).toMatchObject({
      pattern: "/tmp/page-*.png",
      filesAdded: 57,
      filesPerInvocation: 3,
      leaking: true,
    });
    expect(findings.messages).toContain(
      "+3 files (+1.20 MB) per invocation in /tmp, named page-*.png; 60 files, 24.00 MB in all.",
    );
  });

  it("splits folder and name in the message", () => {
    const points = tmpPoints(20, {
      pattern: "/tmp/doc-*.pdf.pages/page-*.pdf",
      files: 2,
      bytes: 0.5 * MB,
    });

    const findings = findLeaks({
      environmentId: "env-7",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.messages.join(" ")).toContain(
      "+2 files (+1.00 MB) per invocation in /tmp/doc-*.pdf.pages, named page-*.pdf;",
    );
  });

  it("names small files that pile up", () => {
    const points = tmpPoints(20, { pattern: "/tmp/state-*.json", files: 1, bytes: 4096 });

    const findings = findLeaks({
      environmentId: "env-8",
      functionName: "pdf-analyze",
      limits,
      points,
    });

    expect(findings.trends.tmpBytes.leaking).toBe(false);
    expect(findings.messages).toEqual([
      "+1 file (+4 KB) per invocation in /tmp, named state-*.json; 20 files, 80 KB in all.",
    ]);
  });

  it("shows deleted files that stay open", () => {
    const points = tmpPoints(20, {
      pattern: "/tmp/x-*.tmp",
      files: 1,
      bytes: 0.4 * MB,
      deleted: true,
    });

    const findings = findLeaks({
      environmentId: "env-9",
      functionName: "pdf-analyze",
      limits,
      points,
    });
    const text = findings.messages.join("\n");

    expect(findings.tmpGrowth[0]).toMatchObject({
      pattern: "/tmp/x-*.tmp",
      deleted: true,
      filesPerInvocation: 1,
    });
    expect(text).toContain(
      "+1 deleted file still open per invocation (+0.40 MB), /tmp/x-*.tmp (deleted); 20 held, 8.00 MB in all.",
    );
    expect(text).toContain(
      "8.0 MB of /tmp is held by deleted files that are still open: 20 files named /tmp/x-*.tmp (deleted).",
    );
  });

  it("marks estimated bytes", () => {
    const points = tmpPoints(20, { pattern: "/tmp/page-*.png", files: 1, bytes: MB });
    const last = points[points.length - 1].sample.tmpFileGroups as TmpFileGroup[];
    last[0].bytesEstimated = true;

    const findings = findLeaks({
      environmentId: "env-10",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.messages.join(" ")).toContain(
      "+1 file (about +1.00 MB) per invocation in /tmp, named page-*.png; 20 files, about 20.00 MB in all.",
    );
  });

  it("names a file that grows in place", () => {
    const points = tmpPoints(20, { pattern: "/tmp/app.log", files: 0, bytes: 0 }).map(
      (point, index) => {
        const bytes = (index + 1) * MB;
        const group: TmpFileGroup = {
          pattern: "/tmp/app.log",
          example: "/tmp/app.log",
          files: 1,
          bytes,
          bytesEstimated: false,
          deleted: false,
        };
        return { ...point, sample: sample({ tmpBytes: bytes, tmpFileGroups: [group] }) };
      },
    );

    const findings = findLeaks({
      environmentId: "env-11",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.messages).toContain(
      "+1.00 MB per invocation written to existing files in /tmp named app.log; 20.00 MB in all.",
    );
  });

  it("ignores files that come and go", () => {
    const points = Array.from({ length: 20 }, (_, index) => {
      const group: TmpFileGroup = {
        pattern: "/tmp/page-*.png",
        example: `/tmp/page-${index}.png`,
        files: 3,
        bytes: 3 * MB,
        bytesEstimated: false,
        deleted: false,
      };
      return {
        invocationNumber: index + 1,
        at: index,
        sample: sample({ tmpBytes: 3 * MB, tmpFileGroups: [group] }),
      };
    });

    const findings = findLeaks({
      environmentId: "env-12",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.tmpGrowth).toEqual([]);
    expect(findings.messages).toEqual([]);
  });

  it("ignores files written once, early", () => {
    const points = tmpPoints(20, { pattern: "/tmp/cache-*.bin", files: 1, bytes: 4096 }).map(
      (point, index) => {
        // Ten files at the second invocation, none after.
        const files = index === 0 ? 1 : 11;
        const group: TmpFileGroup = {
          pattern: "/tmp/cache-*.bin",
          example: "/tmp/cache-1.bin",
          files,
          bytes: files * 4096,
          bytesEstimated: false,
          deleted: false,
        };
        return {
          ...point,
          sample: sample({ tmpBytes: files * 4096, tmpFiles: files, tmpFileGroups: [group] }),
        };
      },
    );

    const findings = findLeaks({
      environmentId: "env-14",
      functionName: "pdf-analyze",
      limits,
      points,
    });

    expect(findings.tmpGrowth[0]).toMatchObject({ filesAdded: 10, leaking: false });
    expect(findings.messages).toEqual([]);
  });

  it("needs ten probes for a verdict", () => {
    const points = tmpPoints(9, { pattern: "/tmp/page-*.png", files: 3, bytes: MB });

    const findings = findLeaks({
      environmentId: "env-13",
      functionName: "pdf-split",
      limits,
      points,
    });

    expect(findings.tmpGrowth[0].leaking).toBe(false);
    expect(findings.messages).toEqual([]);
  });
});

describe("name patterns", () => {
  it("replaces numbers and drops the deleted marker", () => {
    expect(namePattern("/tmp/page-12.pdf (deleted)")).toBe("/tmp/page-*.pdf");
    expect(namePattern("socket:[48213]")).toBe("socket:[*]");
  });

  it("replaces random tokens with digits", () => {
    expect(namePattern("/tmp/upload-4f9a1c.tmp (deleted)")).toBe("/tmp/upload-*.tmp");
  });

  it("replaces a UUID as a whole", () => {
    // Each group of these UUIDs starts differently: with a digit, a hex letter or a word-like "e".
    expect(namePattern("/tmp/scratch-550e8400-e29b-41d4-a716-446655440000.bin")).toBe(
      "/tmp/scratch-*.bin",
    );
    expect(namePattern("/tmp/scratch-3F2A9C4E-ABCD-4E8F-9A0B-123456789ABC.bin")).toBe(
      "/tmp/scratch-*.bin",
    );
    expect(namePattern("/tmp/c0ffee00-beef-4bad-8bad-facefeed0001")).toBe("/tmp/*");
  });

  it("replaces a hex hash as a whole", () => {
    expect(namePattern("/tmp/cache-deadbeef01.json")).toBe("/tmp/cache-*.json");
    expect(namePattern("/tmp/cache-d41d8cd98f00b204e9800998ecf8427e.json")).toBe(
      "/tmp/cache-*.json",
    );
  });

  it("joins a run of numbers", () => {
    expect(namePattern("/tmp/log-2026-12-05_0017.txt")).toBe("/tmp/log-*.txt");
    expect(namePattern("/tmp/log-2026-12-05.txt")).toBe("/tmp/log-*.txt");
  });

  it("keeps words next to numbers", () => {
    expect(namePattern("/tmp/page12.png")).toBe("/tmp/page*.png");
    expect(namePattern("/tmp/abc12.txt")).toBe("/tmp/abc*.txt");
    expect(namePattern("/tmp/v2-data.bin")).toBe("/tmp/v*-data.bin");
  });
});

describe("findings with invocation records", () => {
  const fillingTmp = (count: number) =>
    Array.from({ length: count }, (_, index) => {
      const n = index + 1;
      return {
        invocationNumber: n,
        at: n * 1_000,
        sample: sample({ tmpBytes: Math.min(n * 8 * MB, 512 * MB) }),
      };
    });

  it("names the first ENOSPC", () => {
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "filler",
      limits,
      points: fillingTmp(70),
      failures: { firstEnospcInvocation: 65, resets: [] },
    });

    expect(findings.trends.tmpBytes.reachedAtInvocation).toBe(63);
    expect(findings.messages.join("\n")).toContain(
      "nearly full (97%) at invocation 63, and the first ENOSPC was at invocation 65.",
    );
  });

  it("names the first EMFILE", () => {
    // 20 descriptors plus one per invocation: the table is full after invocation 1,004.
    const points = Array.from({ length: 1_010 }, (_, index) => {
      const n = index + 1;
      return {
        invocationNumber: n,
        at: n * 1_000,
        sample: sample({ openDescriptors: Math.min(20 + n, 1024) }),
      };
    });
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "leaky",
      limits,
      points,
      failures: { firstEmfileInvocation: 1005, resets: [] },
    });

    expect(findings.trends.descriptors.failedAtInvocation).toBe(1005);
    expect(findings.messages.join("\n")).toContain(
      "at the limit from invocation 1004, and the first EMFILE was at invocation 1005.",
    );
  });

  it("claims no ENOSPC that the records lack", () => {
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "filler",
      limits,
      points: fillingTmp(64),
      failures: { resets: [] },
    });

    expect(findings.messages.join("\n")).toContain("no invocation has failed with ENOSPC yet");
  });

  it("claims no ENOSPC without records", () => {
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "filler",
      limits,
      points: fillingTmp(64),
    });

    expect(findings.messages.join("\n")).toContain("nearly full (97%) at invocation 63.");
    expect(findings.messages.join("\n")).not.toContain("ENOSPC");
  });

  it("ends memory growth at the out-of-memory kill", () => {
    // 4 MB more per invocation, killed at invocation 30; the probe of the
    // killed invocation reads 0 and the new runtime starts at 50 MB.
    const points = Array.from({ length: 32 }, (_, index) => {
      const n = index + 1;
      let residentBytes = 50 * MB;
      if (n < 30) residentBytes = (10 + 4 * n) * MB;
      if (n === 30) residentBytes = 0;
      return { invocationNumber: n, at: n * 1_000, sample: sample({ residentBytes }) };
    });
    const findings = findLeaks({
      environmentId: "env-1",
      functionName: "cache",
      limits: { ...limits, memoryBytes: 128 * MB },
      points,
      failures: {
        firstOutOfMemoryInvocation: 30,
        outOfMemoryKills: 1,
        resets: [{ invocationNumber: 30, outcome: "out-of-memory" }],
      },
    });

    expect(findings.trends.memoryBytes.perInvocation).toBeCloseTo(4 * MB, -3);
    expect(findings.messages).toContain(
      "Resident memory grew +4.00 MB per invocation until the out-of-memory kill at invocation 30; 126 of 128 MB at the last probe before it.",
    );
  });
});
