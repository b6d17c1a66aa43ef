/**
 * One replay of a scenario: start (or attach to) a simulator, deploy the
 * pipeline, drive the arrivals through the real APIs on simulated time,
 * wait for the executions, shut down, and write report.json and report.html.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { type Clock, RealClock, VirtualClock } from "../clock.ts";
import { ProbeSeriesStore } from "../diagnostics/probe-series.ts";
import { buildReport, type RunReport } from "../report/build-report.ts";
import { renderHtmlReport } from "../report/html-report.ts";
import type { DirectInvocations, DriverError, RunData } from "../report/run-data.ts";
import type { BackendName } from "../sandbox/backend.ts";
import { type Arrival, generateArrivals } from "./arrivals.ts";
import { sleepUntil, workOrAbort } from "./clock-waits.ts";
import { DEFAULT_CORPUS_DIR } from "./corpus-location.ts";
import { clientConfig, deployPipeline, deploySettingsFor, pipelineInput } from "./deploy.ts";
import { DocumentPicker } from "./document-mix.ts";
import { ExecutionTracker } from "./execution-tracker.ts";
import { GapBridge } from "./gap-bridge.ts";
import { redriveFailedExecutions, retryFailedDocuments } from "./rerun-driver.ts";
import type { Scenario } from "./scenario-schema.ts";

/** Real milliseconds the clock is held while the last executions finish. */
const DRAIN_HOLD_MS = 30_000;

/** Options of {@link runReplay}. */
export interface ReplayOptions {
  scenario: Scenario;
  /** The scenario file, for trace paths and the report. */
  scenarioFile?: string;
  backend: BackendName;
  /** `max` jumps over idle gaps; a number runs simulated time that many times faster than real time. */
  speed: "max" | number;
  /** Run folder: report.json, report.html and simulator.log go here. */
  outDir: string;
  /** Edge port of the simulator the replay starts (default: a free one). */
  port?: number;
  /** Attach to a running simulator instead of starting one; time is then real. */
  endpoint?: string;
  /** Aborting stops the arrivals, shuts down and writes a partial report. */
  signal?: AbortSignal;
  /** Called about once a second with the run's progress. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Keep the simulator's data folder (objects, functions) after the run. */
  keepData?: boolean;
  /** Cache folder of generated documents, kept between runs (default `.warmstate/cache/documents`). */
  cacheDir?: string;
  /**
   * Folder of real PDFs mixed into the load (default DEFAULT_CORPUS_DIR). With
   * a missing folder the replay sends generated documents only, and does not
   * warn: call `checkCorpus` first to warn the user.
   */
  corpusDir?: string;
}

/** Counts and clock readings for the progress line. */
export interface ReplayProgress {
  /** Kind of load the scenario drives: executions, or direct invocations with one document each. */
  target: "state-machine" | "function";
  simulatedNow: number;
  arrivalsStarted: number;
  arrivalsTotal: number;
  executionsStarted: number;
  executionsDone: number;
  /** Executions whose first attempt failed. */
  executionsFailed: number;
  executionsRedriven: number;
  /** Documents queued for a direct invocation (function target only). */
  documentsStarted: number;
  /** Documents whose direct invocation returned (function target only). */
  documentsDone: number;
  /** Documents the batch reports list as failed, or whose direct invocation failed. */
  documentsFailed: number;
  /** Documents of executions that failed, whichever of them caused it. */
  documentsInFailedExecutions: number;
  invocations: number;
  invocationsPerSecond: number;
  liveEnvironments: number;
  wallMs: number;
}

/** The outcome of a replay. */
export interface ReplayResult {
  report: RunReport;
  run: RunData;
  outDir: string;
  reportJsonPath: string;
  reportHtmlPath: string;
}

/** Runs a scenario end to end. */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const { scenario } = options;
  const wallStarted = performance.now();
  const wallStartedAt = new Date().toISOString();
  mkdirSync(options.outDir, { recursive: true });
  const dataDir = path.join(options.outDir, "data");
  const simulatedStart = Date.parse(scenario.start);

  const clock: Clock = options.endpoint
    ? new RealClock()
    : new VirtualClock({
        start: simulatedStart,
        speed: options.speed === "max" ? 1 : options.speed,
        jumpIdle: options.speed === "max",
      });
  const simulator = options.endpoint
    ? undefined
    : await (await import("../simulator.ts")).startSimulator({
        port: options.port ?? 0,
        backend: options.backend,
        dataDir,
        clock,
        logFile: path.join(options.outDir, "simulator.log"),
      });
  const endpoint = options.endpoint ?? (simulator?.endpoint as string);
  const series = simulator ? new ProbeSeriesStore(simulator.lambda, () => clock.now()) : undefined;
  const runStartedAt = clock.now();

  const config = clientConfig(endpoint);
  const lambda = new LambdaClient(config);
  const sfn = new SFNClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const tracker = new ExecutionTracker({ sfn, redriveAtOnce: scenario.drive.redrive === true });
  const bridge = new GapBridge(clock);
  // Direct invocations hold the clock themselves; only executions need the bridge.
  const onInvocation = () => {
    if (tracker.counts().running > 0) bridge.touch();
  };
  simulator?.lambda.events.on("invocation", onInvocation);
  const driverErrors: DriverError[] = [];
  const direct: DirectInvocations = {
    functionName: scenario.drive.function,
    submitted: 0,
    invoked: 0,
    failed: 0,
  };
  const drivesFunction = scenario.drive.target === "function";
  let interrupted = options.signal?.aborted ?? false;
  let arrivalsStarted = 0;
  let arrivals: Arrival[] = [];
  let progressTimer: NodeJS.Timeout | undefined;
  // A failed shutdown step is reported and the run still gets its report.
  const shutdown = async () => {
    try {
      await simulator?.close();
    } catch (error) {
      console.warn(
        `Shutting the simulator down failed: ${(error as Error).message}. Check for leftover sandboxes with \`ps\`.`,
      );
    }
    if (clock instanceof VirtualClock) clock.stop();
    if (simulator && !options.keepData) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const deployed = await deployPipeline({ endpoint, settings: deploySettingsFor(scenario) });
    const picker = await DocumentPicker.create(scenario.documents, {
      seed: scenario.seed,
      cacheDir: options.cacheDir ?? path.resolve(".warmstate", "cache", "documents"),
      corpusDir: options.corpusDir ?? DEFAULT_CORPUS_DIR,
    });
    arrivals = generateArrivals(scenario.arrivals, {
      start: simulatedStart,
      durationMs: scenario.duration,
      seed: scenario.seed,
      baseDir: options.scenarioFile ? path.dirname(options.scenarioFile) : process.cwd(),
    });

    let lastInvocations = 0;
    let lastTick = performance.now();
    progressTimer = setInterval(() => {
      const invocations = series?.invocationCount ?? 0;
      const now = performance.now();
      const counts = tracker.counts();
      options.onProgress?.({
        target: scenario.drive.target,
        simulatedNow: clock.now(),
        arrivalsStarted,
        arrivalsTotal: arrivals.length,
        executionsStarted: counts.started,
        executionsDone: counts.done,
        executionsFailed: counts.failed,
        executionsRedriven: counts.redriven,
        documentsStarted: direct.submitted,
        documentsDone: direct.invoked,
        documentsFailed: drivesFunction ? direct.failed : counts.failedDocuments,
        documentsInFailedExecutions: counts.documentsInFailedExecutions,
        invocations,
        invocationsPerSecond:
          ((invocations - lastInvocations) * 1_000) / Math.max(1, now - lastTick),
        liveEnvironments: simulator?.lambda.liveEnvironmentCount() ?? 0,
        wallMs: now - wallStarted,
      });
      lastInvocations = invocations;
      lastTick = now;
    }, 1_000);
    progressTimer.unref();

    const inFlight = new Set<Promise<void>>();
    for (const [index, arrival] of arrivals.entries()) {
      if (options.signal?.aborted) break;
      await sleepUntil(clock, arrival.at, options.signal);
      if (options.signal?.aborted) break;
      // The driver is behind schedule while it waits for room: that is work, not idle time.
      if (inFlight.size >= scenario.drive.maxInFlight) {
        const releaseWhileBehind = clock.hold();
        while (inFlight.size >= scenario.drive.maxInFlight) await Promise.race(inFlight);
        releaseWhileBehind();
      }

      // Hold the clock while the arrival is uploaded, so it does not jump mid-arrival.
      const release = clock.hold();
      try {
        const keys = await uploadArrival(s3, deployed.bucket, picker, arrival, index);
        if (scenario.drive.target === "state-machine") {
          const started = await sfn.send(
            new StartExecutionCommand({
              stateMachineArn: deployed.stateMachineArns[scenario.drive.stateMachine],
              name: `arrival-${String(index).padStart(5, "0")}`,
              input: JSON.stringify(pipelineInput(deployed.bucket, keys)),
            }),
          );
          tracker.add(started.executionArn as string, clock.now(), keys.length);
          bridge.touch();
        } else {
          direct.submitted += keys.length;
          const task = invokeEach(lambda, direct, deployed.bucket, keys, clock, driverErrors);
          inFlight.add(task);
          void task.finally(() => inFlight.delete(task));
        }
      } catch (error) {
        driverErrors.push({
          at: clock.now(),
          operation: scenario.drive.target === "state-machine" ? "StartExecution" : "Invoke",
          errorType: (error as Error).name,
          message: (error as Error).message,
        });
      } finally {
        release();
      }
      arrivalsStarted++;
    }

    await drain(clock, Promise.all([...inFlight, tracker.whenIdle()]), options.signal);

    if (scenario.drive.target === "state-machine" && !options.signal?.aborted) {
      const context = {
        clock,
        sfn,
        tracker,
        bridge,
        stateMachineArn: deployed.stateMachineArns[scenario.drive.stateMachine],
        bucket: deployed.bucket,
        driverErrors,
        signal: options.signal,
      };
      const { redrive, retryFailedDocuments: retry } = scenario.drive;
      if (typeof redrive === "object") await redriveFailedExecutions(context, redrive);
      if (retry) await retryFailedDocuments(context, retry);
      await drain(clock, tracker.whenIdle(), options.signal);
    }
  } catch (error) {
    // Leave no sandbox behind when deploying or driving fails.
    await shutdown().catch(() => {});
    throw error;
  } finally {
    interrupted = interrupted || (options.signal?.aborted ?? false);
    if (progressTimer) clearInterval(progressTimer);
    tracker.stop();
    lambda.destroy();
    sfn.destroy();
    s3.destroy();
  }

  const simulatedEnd = clock.now();
  simulator?.lambda.events.off("invocation", onInvocation);
  bridge.close();
  // Stay attached while the simulator shuts down, so every environment's final status is recorded.
  await shutdown();
  series?.detach();

  const attached = options.endpoint ? await fetchSeries(options.endpoint, runStartedAt) : undefined;
  const run: RunData = {
    scenario: {
      name: scenario.name,
      description: scenario.description,
      seed: scenario.seed,
      file: options.scenarioFile,
    },
    backend: options.backend,
    speed: String(options.speed),
    wallStartedAt,
    wallMs: performance.now() - wallStarted,
    simulatedStartedAt: runStartedAt,
    simulatedEndedAt: simulatedEnd,
    interrupted,
    invocations: series?.invocations() ?? attached?.invocations ?? [],
    environments: series?.environments() ?? attached?.environments ?? [],
    executions: tracker.executions,
    driverErrors,
    ...(drivesFunction && { directInvocations: direct }),
  };
  return writeReports(run, options.outDir);
}

/** Writes report.json and report.html for a run into `outDir`. */
export function writeReports(run: RunData, outDir: string): ReplayResult {
  const report = buildReport(run);
  const reportJsonPath = path.join(outDir, "report.json");
  const reportHtmlPath = path.join(outDir, "report.html");
  writeFileSync(
    reportJsonPath,
    `${JSON.stringify({ ...report, invocationList: run.invocations }, null, 1)}\n`,
  );
  writeFileSync(reportHtmlPath, renderHtmlReport(report, run.invocations));
  return { report, run, outDir, reportJsonPath, reportHtmlPath };
}

// While the last executions finish, nothing else is due: hold the clock so it
// does not run through hours of keep-alive and lifetime timers between two
// polls. After DRAIN_HOLD_MS of real time (a long retry back-off), let go.
async function drain(clock: Clock, work: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  const release = clock.hold();
  const timer = setTimeout(release, DRAIN_HOLD_MS);
  try {
    await workOrAbort(work, signal);
  } finally {
    clearTimeout(timer);
    release();
  }
}

async function uploadArrival(
  s3: S3Client,
  bucket: string,
  picker: DocumentPicker,
  arrival: Arrival,
  index: number,
): Promise<string[]> {
  const keys: string[] = [];
  for (let position = 0; position < arrival.documents; position++) {
    const template = picker.pick(arrival.traced?.[position]);
    const key = `in/${String(index).padStart(5, "0")}/${position}-${template.id}.pdf`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await template.bytes(),
        ContentType: "application/pdf",
      }),
    );
    keys.push(key);
  }
  return keys;
}

// Direct invocations, one per document, one after the other: with reserved
// concurrency 1 this is the load test that walks one environment to its limit.
// Counts each document in `direct`: a FunctionError in the response or a
// rejected Invoke is a failed document.
async function invokeEach(
  lambda: LambdaClient,
  direct: DirectInvocations,
  bucket: string,
  keys: string[],
  clock: Clock,
  errors: DriverError[],
): Promise<void> {
  const { functionName } = direct;
  for (const key of keys) {
    const release = clock.hold();
    try {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: Buffer.from(JSON.stringify({ bucket, key })),
        }),
      );
      if (response.FunctionError) direct.failed++;
    } catch (error) {
      direct.failed++;
      errors.push({
        at: clock.now(),
        operation: "Invoke",
        functionName,
        errorType: (error as Error).name,
        message: (error as Error).message,
      });
    } finally {
      direct.invoked++;
      release();
    }
  }
}

/**
 * Reads the probe series of an attached simulator from its diagnostics
 * routes, keeping what happened since `since`. Returns undefined when the
 * simulator does not serve them, so the report has executions only.
 */
async function fetchSeries(
  endpoint: string,
  since: number,
): Promise<Pick<RunData, "invocations" | "environments"> | undefined> {
  try {
    const response = await fetch(new URL("/_warmstate/diagnostics/series", endpoint));
    if (!response.ok) return undefined;
    const body = (await response.json()) as Pick<RunData, "invocations" | "environments">;
    const invocations = body.invocations.filter((invocation) => invocation.startedAt >= since);
    const used = new Set(invocations.map((invocation) => invocation.environmentId));
    return {
      invocations,
      environments: body.environments.filter((environment) => used.has(environment.environmentId)),
    };
  } catch (error) {
    console.warn(
      `Reading probe series from ${endpoint} failed: ${(error as Error).message}. The report lists executions only.`,
    );
    return undefined;
  }
}
