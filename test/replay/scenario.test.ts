import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateArrivals, isWithinWorkingHours } from "../../simulator/replay/arrivals.ts";
import {
  loadScenario,
  parseScenario,
  ScenarioError,
  shippedScenarioNames,
} from "../../simulator/replay/scenario-loader.ts";

const minimal = { name: "tiny", duration: "1h", arrivals: { model: "constant", every: "10m" } };

function errorOf(document: unknown): string {
  try {
    parseScenario(document, "test.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as Error).message;
  }
  throw new Error("expected the scenario to be rejected");
}

describe("scenario validation", () => {
  it("names an unknown arrival model and the allowed ones", () => {
    const message = errorOf({ ...minimal, arrivals: { model: "hourly" } });
    expect(message).toContain(
      'arrivals.model: invalid value "hourly"; allowed values: "batches", "burst", "poisson", "constant", "trace"',
    );
  });

  it("names an unknown function and the allowed ones", () => {
    const message = errorOf({ ...minimal, functions: { "pdf-render": {} } });
    expect(message).toContain('functions: unknown field "pdf-render"');
    expect(message).toContain("pdf-split, pdf-analyze, pdf-summarize");
  });

  it("names a misspelled setting and the allowed fields", () => {
    const message = errorOf({ ...minimal, functions: { "pdf-split": { memory: 512 } } });
    expect(message).toContain('functions.pdf-split: unknown field "memory"');
    expect(message).toContain("memorySize");
  });

  it("rejects ephemeral storage under 512 MB", () => {
    const message = errorOf({
      ...minimal,
      functions: { "pdf-split": { ephemeralStorageSize: 256 } },
    });
    expect(message).toContain("functions.pdf-split.ephemeralStorageSize");
    expect(message).toContain("512");
  });

  it("lists the allowed drive targets", () => {
    expect(errorOf({ ...minimal, drive: { target: "queue" } })).toContain(
      'drive.target: invalid value "queue"; allowed values: "state-machine", "function"',
    );
  });

  it("repeats an unknown state machine", () => {
    const message = errorOf({ ...minimal, drive: { stateMachine: "pdf-batch-lenient" } });
    expect(message).toContain(
      'drive.stateMachine: invalid value "pdf-batch-lenient"; allowed values: "pdf-batch", "pdf-batch-strict", "pdf-batch-inline"',
    );
  });

  it("repeats a number out of range", () => {
    const message = errorOf({ ...minimal, arrivals: { model: "poisson", ratePerMinute: -4 } });
    expect(message).toContain(
      "arrivals.ratePerMinute: invalid value -4; must be a number greater than 0",
    );
  });

  it("repeats a value of the wrong type", () => {
    const message = errorOf({ ...minimal, toggles: { CLEAN_TMP: "yes" } });
    expect(message).toContain('toggles.CLEAN_TMP: invalid value "yes"; expected a boolean');
  });

  it("names a missing field", () => {
    const message = errorOf({ name: "tiny", duration: "1h" });
    expect(message).toContain("arrivals: missing; expected an object");
  });

  it("lists the fields of the chosen arrival model", () => {
    const message = errorOf({ ...minimal, arrivals: { model: "constant", every: "1m", rate: 2 } });
    expect(message).toContain(
      'arrivals: unknown field "rate"; allowed fields: model, every, documents',
    );
  });

  it("explains an invalid duration", () => {
    const message = errorOf({ ...minimal, duration: "soon" });
    expect(message).toContain('duration: invalid value "soon"; expected seconds');
    expect(message).toContain('"5m"');
  });

  it("rejects an unknown time zone", () => {
    const message = errorOf({
      ...minimal,
      arrivals: {
        model: "batches",
        every: "5m",
        documents: { min: 1, max: 2 },
        workingHours: { timeZone: "Mars/Olympus", start: "09:00", end: "17:00" },
      },
    });
    expect(message).toContain("arrivals.workingHours.timeZone");
    expect(message).toContain("IANA");
  });

  it("lists every invalid field at once", () => {
    const message = errorOf({ ...minimal, seed: -1, documents: { badRate: 2 } });
    expect(message).toContain("seed");
    expect(message).toContain("documents.badRate");
  });

  it("loads every shipped scenario", () => {
    const names = shippedScenarioNames();
    expect(names).toEqual(
      expect.arrayContaining([
        "seed-workday",
        "fd-exhaustion",
        "tmp-exhaustion",
        "fixed",
        "self-recycle",
        "burst-scale-in",
      ]),
    );
    for (const name of names) expect(loadScenario(name).scenario.name).toBe(name);
  });

  it("reports a missing scenario with the shipped names", () => {
    expect(() => loadScenario("no-such-scenario")).toThrow(/Shipped scenarios: .*seed-workday/);
  });
});

describe("arrival models", () => {
  const window = {
    start: Date.parse("2026-03-02T08:00:00-05:00"),
    durationMs: 10 * 3_600_000,
    seed: 3,
    baseDir: ".",
  };
  const folder = mkdtempSync(path.join(tmpdir(), "warmstate-trace-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("keeps batches inside working hours", () => {
    const scenario = parseScenario({
      ...minimal,
      arrivals: {
        model: "batches",
        every: "5m",
        documents: { min: 10, max: 100 },
        workingHours: { timeZone: "America/New_York", start: "09:00", end: "17:00" },
      },
    });
    const arrivals = generateArrivals(scenario.arrivals, window);

    expect(arrivals).toHaveLength(96);
    expect(new Date(arrivals[0].at).toISOString()).toBe("2026-03-02T14:00:00.000Z");
    expect(arrivals.every((arrival) => arrival.documents >= 10 && arrival.documents <= 100)).toBe(
      true,
    );
  });

  it("skips weekends", () => {
    const hours = {
      timeZone: "America/New_York",
      start: "09:00",
      end: "17:00",
      days: ["mon", "tue", "wed", "thu", "fri"] as const,
    };
    expect(
      isWithinWorkingHours(Date.parse("2026-03-07T15:00:00Z"), { ...hours, days: [...hours.days] }),
    ).toBe(false);
    expect(
      isWithinWorkingHours(Date.parse("2026-03-06T15:00:00Z"), { ...hours, days: [...hours.days] }),
    ).toBe(true);
  });

  it("repeats the same arrivals for the same seed", () => {
    const scenario = parseScenario({
      ...minimal,
      arrivals: { model: "poisson", ratePerMinute: 0.5, documents: { min: 1, max: 5 } },
    });
    const first = generateArrivals(scenario.arrivals, window);
    const second = generateArrivals(scenario.arrivals, window);
    const other = generateArrivals(scenario.arrivals, { ...window, seed: 4 });

    expect(first.length).toBeGreaterThan(200);
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it("spreads a burst over its span", () => {
    const scenario = parseScenario({
      ...minimal,
      arrivals: { model: "burst", bursts: [{ at: "30m", documents: 11, over: "10s" }] },
    });
    const arrivals = generateArrivals(scenario.arrivals, window);

    expect(arrivals).toHaveLength(11);
    expect(arrivals[0].at).toBe(window.start + 30 * 60_000);
    expect(arrivals[10].at - arrivals[0].at).toBe(10_000);
  });

  it("replays a JSONL trace, grouping equal timestamps", () => {
    const file = path.join(folder, "trace.jsonl");
    writeFileSync(
      file,
      [
        '{"at": 60, "pages": 3}',
        '{"at": 60, "pages": 12}',
        '{"at": "2026-03-02T13:30:00Z", "pages": 1}',
      ].join("\n"),
    );
    const scenario = parseScenario({
      ...minimal,
      arrivals: { model: "trace", file: "trace.jsonl" },
    });
    const arrivals = generateArrivals(scenario.arrivals, { ...window, baseDir: folder });

    expect(arrivals).toHaveLength(2);
    expect(arrivals[0]).toEqual({
      at: window.start + 60_000,
      documents: 2,
      traced: [{ pages: 3 }, { pages: 12 }],
    });
    expect(arrivals[1].at).toBe(Date.parse("2026-03-02T13:30:00Z"));
  });

  it("replays a CSV trace and names a bad row", () => {
    const file = path.join(folder, "trace.csv");
    writeFileSync(file, "at,pages\n0,2\n120,5000\n");
    const scenario = parseScenario({ ...minimal, arrivals: { model: "trace", file: "trace.csv" } });

    expect(() => generateArrivals(scenario.arrivals, { ...window, baseDir: folder })).toThrow(
      /pages "5000" in .*trace.csv row 2/,
    );
  });
});
