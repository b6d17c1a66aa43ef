import { describe, expect, it } from "vitest";
import {
  canMove,
  ENVIRONMENT_STATUSES,
  type EnvironmentStatus,
  IllegalTransitionError,
} from "../../simulator/lambda/environment-status.ts";

// The lifecycle of DESIGN.md: starting → initializing → idle ⇄ busy →
// shutting-down → gone, plus the init retry (initializing → busy) and the
// reset after a fault (busy → initializing).
const ALLOWED: Array<[EnvironmentStatus, EnvironmentStatus]> = [
  ["starting", "initializing"],
  ["starting", "shutting-down"],
  ["initializing", "idle"],
  ["initializing", "busy"],
  ["initializing", "shutting-down"],
  ["idle", "busy"],
  ["idle", "shutting-down"],
  ["busy", "idle"],
  ["busy", "initializing"],
  ["busy", "shutting-down"],
  ["shutting-down", "gone"],
];

describe("environment status moves", () => {
  const pairs = ENVIRONMENT_STATUSES.flatMap((from) =>
    ENVIRONMENT_STATUSES.map((to) => [from, to] as const),
  );

  it.each(pairs)("%s → %s follows the lifecycle", (from, to) => {
    const expected = ALLOWED.some(
      ([allowedFrom, allowedTo]) => allowedFrom === from && allowedTo === to,
    );

    expect(canMove(from, to)).toBe(expected);
  });

  it("lists all six statuses", () => {
    expect([...ENVIRONMENT_STATUSES].sort()).toEqual([
      "busy",
      "gone",
      "idle",
      "initializing",
      "shutting-down",
      "starting",
    ]);
  });

  it("names both ends in the illegal-move error", () => {
    const error = new IllegalTransitionError("env-1", "gone", "busy");

    expect(error.name).toBe("IllegalTransitionError");
    expect(error.message).toBe("Environment env-1 cannot move from gone to busy.");
  });
});
