/**
 * Warmstate's public entry point: start the simulator in process, for tests
 * and scripts. `warmstate serve` runs the same thing as a long-lived server.
 */
export { startSimulator, type Simulator, type SimulatorOptions } from "./simulator.ts";
export { RealClock, VirtualClock, type Clock } from "./clock.ts";
export type {
  EnvironmentInfo,
  InvocationRecord,
  InvokeRequest,
  InvokeResult,
} from "./lambda/types.ts";
export type { ResourceSample, BackendName } from "./sandbox/backend.ts";
