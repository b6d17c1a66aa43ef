/**
 * Warmstate's public entry point: start the simulator in process, for tests
 * and scripts. `warmstate serve` runs the same thing as a long-lived server.
 */

export { type Clock, RealClock, VirtualClock } from "./clock.ts";
export type {
  EnvironmentInfo,
  InvocationRecord,
  InvokeRequest,
  InvokeResult,
} from "./lambda/types.ts";
export type { BackendName, ResourceSample } from "./sandbox/backend.ts";
export { type Simulator, type SimulatorOptions, startSimulator } from "./simulator.ts";
