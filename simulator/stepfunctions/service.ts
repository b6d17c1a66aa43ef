/**
 * The Step Functions service: state machines, executions, histories, task
 * callbacks and TestState, with the inputs, outputs and errors of AWS's API.
 * Dates in results are epoch seconds, as AWS JSON 1.0 carries timestamps.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.ts";
import { assertExecutionArn, assertValidName, executionArn } from "./arn.ts";
import { apiErrors } from "./errors.ts";
import { ExecutionRunner } from "./execution-runner.ts";
import { isClosed, moveStatus } from "./execution-status.ts";
import {
  type ExecutionRecord,
  ExecutionStore,
  type StateMachineRecord,
} from "./execution-store.ts";
import { type HistoryEvent, HistoryRecorder, withoutExecutionData } from "./history.ts";
import { TaskTokenRegistry } from "./interpreter/task-tokens.ts";
import type { ObjectStore } from "./interpreter/types.ts";
import type { LambdaInvoker } from "./lambda-invoker.ts";
import { MAX_PAYLOAD_BYTES, MAX_REDRIVE_COUNT } from "./limits.ts";
import { MapRunLauncher } from "./map-run-launcher.ts";
import { MapRunRegistry } from "./map-run-registry.ts";
import { type Input, paginate, requireString, revisionOf, seconds } from "./request-helpers.ts";
import { StateMachineRegistry } from "./state-machine-registry.ts";
import { runTestState } from "./test-state.ts";

/** Options of the service. */
export interface StepFunctionsServiceOptions {
  /** The simulator's data directory; the service writes under `<dataDir>/stepfunctions`. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  invoker: LambdaInvoker;
  s3?: ObjectStore;
  region?: string;
  accountId?: string;
}

export class StepFunctionsService {
  readonly region: string;
  readonly accountId: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #store: ExecutionStore;
  readonly #tokens = new TaskTokenRegistry();
  readonly #runner: ExecutionRunner;
  readonly #options: StepFunctionsServiceOptions;
  readonly #registry: StateMachineRegistry;
  readonly #mapRuns: MapRunRegistry;
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #executionsByMachine = new Map<string, string[]>();
  readonly ready: Promise<void>;

  constructor(options: StepFunctionsServiceOptions) {
    this.#options = options;
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "123456789012";
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#store = new ExecutionStore(options.dataDir, options.logger);
    this.#registry = new StateMachineRegistry({
      store: this.#store,
      clock: options.clock,
      region: this.region,
      accountId: this.accountId,
    });
    this.#runner = new ExecutionRunner({
      clock: options.clock,
      logger: options.logger,
      invoker: options.invoker,
      s3: options.s3,
      tokens: this.#tokens,
      region: this.region,
      store: this.#store,
    });
    this.#mapRuns = new MapRunRegistry(this.#store);
    this.#runner.mapRunHost = new MapRunLauncher({
      runner: this.#runner,
      registry: this.#mapRuns,
      store: this.#store,
      clock: options.clock,
      logger: options.logger,
      registerExecution: (record) => this.#addExecution(record),
    });
    this.ready = this.#load();
  }

  /** Loads stored state; executions that were running when the simulator stopped are marked ABORTED. */
  async #load(): Promise<void> {
    const { stateMachines, executions, mapRuns } = await this.#store.load();
    this.#registry.load(stateMachines);
    executions.sort((a, b) => a.startDate - b.startDate);
    this.#mapRuns.load(mapRuns, executions);
    await this.#mapRuns.abortRunning(this.#clock.now());
    for (const record of executions) {
      this.#addExecution(record);
      if (isClosed(record.status)) continue;

      // PARITY: AWS keeps running executions through its own restarts; the
      // simulator cannot, so it ends them as aborted with a cause saying why.
      const history = await this.#store.readHistory(record.executionArn);
      const recorder = new HistoryRecorder({
        now: () => this.#clock.now(),
        events: history,
        onAppend: (event) => this.#store.appendEvent(record.executionArn, event),
      });
      const cause = "The simulator stopped while the execution was running.";
      recorder.add("ExecutionAborted", recorder.lastEventId, "executionAbortedEventDetails", {
        error: "States.Runtime",
        cause,
      });
      record.status = moveStatus(
        record.status === "PENDING_REDRIVE" ? "RUNNING" : record.status,
        "ABORTED",
      );
      record.stopDate = this.#clock.now();
      record.error = "States.Runtime";
      record.cause = cause;
      await this.#store.saveExecution(record);
    }
    await this.#store.closeAll();
    this.#logger.info(
      { stateMachines: this.#registry.size, executions: this.#executions.size },
      "step functions data loaded",
    );
  }

  /** Cancels running executions and writes what is pending. */
  async close(): Promise<void> {
    this.#runner.closeAll();
    await this.#store.closeAll();
  }

  /** Waits until an execution has ended (for tests and the replay driver). */
  async waitForExecution(executionArn: string): Promise<void> {
    await this.#runner.settled(executionArn);
    await this.#store.flush();
  }

  // ---- State machines ------------------------------------------------------

  async createStateMachine(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.create(input);
  }

  async describeStateMachine(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.describe(input);
  }

  async validateStateMachineDefinition(input: Input): Promise<Input> {
    return this.#registry.validate(input);
  }

  async updateStateMachine(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.update(input);
  }

  async deleteStateMachine(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.delete(input);
  }

  async listStateMachines(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.list(input);
  }

  async tagResource(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.tag(input);
  }

  async untagResource(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.untag(input);
  }

  async listTagsForResource(input: Input): Promise<Input> {
    await this.ready;
    return this.#registry.listTags(input);
  }

  // ---- Executions ----------------------------------------------------------

  async startExecution(input: Input): Promise<Input> {
    const machine = await this.#machine(requireString(input, "stateMachineArn"));
    const name = (input.name as string | undefined) ?? randomUUID();
    assertValidName(name);
    const inputText = this.#executionInput(input.input);

    if (machine.type === "EXPRESS") {
      const record = this.#newRecord(machine, name, inputText, true);
      this.#runner.launch(record, { persist: false });
      return { executionArn: record.executionArn, startDate: seconds(record.startDate) };
    }

    const arn = executionArn(machine.stateMachineArn, name);
    const existing = this.#executions.get(arn);
    if (existing) {
      // Same name and input as a running execution returns that execution;
      // anything else with a used name is ExecutionAlreadyExists.
      // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
      if (existing.status === "RUNNING" && existing.input === inputText) {
        return { executionArn: arn, startDate: seconds(existing.startDate) };
      }
      throw apiErrors.executionAlreadyExists(arn);
    }
    const record = this.#newRecord(machine, name, inputText, false);
    this.#addExecution(record);
    await this.#store.saveExecution(record);
    this.#runner.launch(record, { persist: true });
    return { executionArn: arn, startDate: seconds(record.startDate) };
  }

  async startSyncExecution(input: Input): Promise<Input> {
    const machine = await this.#machine(requireString(input, "stateMachineArn"));
    if (machine.type !== "EXPRESS") {
      throw apiErrors.stateMachineTypeNotSupported(
        "This operation is only supported for EXPRESS state machines",
      );
    }
    const name = (input.name as string | undefined) ?? randomUUID();
    assertValidName(name);
    const record = await this.#runner.runToEnd(
      this.#newRecord(machine, name, this.#executionInput(input.input), true),
    );
    const stopDate = record.stopDate ?? this.#clock.now();
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      startDate: seconds(record.startDate),
      stopDate: seconds(stopDate),
      status: record.status,
      error: record.error,
      cause: record.cause,
      input: record.input,
      inputDetails: { included: true },
      output: record.output,
      outputDetails: record.output === undefined ? undefined : { included: true },
      billingDetails: {
        billedMemoryUsedInMB: 64,
        billedDurationInMilliseconds: Math.max(
          100,
          Math.ceil((stopDate - record.startDate) / 100) * 100,
        ),
      },
    };
  }

  async describeExecution(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    const redrivable = this.#redriveProblem(record) === undefined;
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: seconds(record.startDate),
      stopDate: record.status === "RUNNING" ? undefined : seconds(record.stopDate),
      input: record.input,
      inputDetails: { included: true },
      output: record.output,
      outputDetails: record.output === undefined ? undefined : { included: true },
      error: record.error,
      cause: record.cause,
      redriveCount: record.redriveCount,
      redriveDate: seconds(record.redriveDate),
      redriveStatus: redrivable ? "REDRIVABLE" : "NOT_REDRIVABLE",
      redriveStatusReason: redrivable ? undefined : this.#redriveProblem(record),
      mapRunArn: record.mapRunArn,
    };
  }

  async describeStateMachineForExecution(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    const machine = this.#registry.find(record.stateMachineArn);
    return {
      stateMachineArn: record.stateMachineArn,
      name: record.stateMachineArn.split(":").pop(),
      definition: record.definition,
      roleArn: record.roleArn,
      updateDate: seconds(machine?.updateDate ?? machine?.creationDate ?? record.startDate),
      revisionId: revisionOf(record.definition, record.roleArn),
      // A child execution of a Map Run runs the ItemProcessor, under the labelled state machine ARN.
      mapRunArn: record.mapRunArn,
      label: record.mapRunArn === undefined ? undefined : record.stateMachineArn.split("/").pop(),
    };
  }

  async stopExecution(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    if (record.status === "RUNNING") {
      await this.#runner.stop(
        record,
        input.error as string | undefined,
        input.cause as string | undefined,
        true,
      );
      await this.#store.flush();
    }
    return { stopDate: seconds(record.stopDate ?? this.#clock.now()) };
  }

  /**
   * ListExecutions of a state machine, or with mapRunArn the child executions
   * of a Map Run (which then carry mapRunArn and itemCount).
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
   */
  async listExecutions(input: Input): Promise<Input> {
    await this.ready;
    const byMapRun = typeof input.mapRunArn === "string";
    if (byMapRun === (typeof input.stateMachineArn === "string")) {
      const received = byMapRun ? "both" : "neither";
      throw apiErrors.validation(
        `ListExecutions needs exactly one of stateMachineArn and mapRunArn, but the request has ${received}.`,
      );
    }
    const status = input.statusFilter as string | undefined;
    if (status === "PENDING_REDRIVE" && !byMapRun) {
      throw apiErrors.validation(
        "The statusFilter PENDING_REDRIVE is valid only with mapRunArn, not with stateMachineArn.",
      );
    }
    const redriveFilter = input.redriveFilter as string | undefined;
    let candidates: ExecutionRecord[];
    if (byMapRun) {
      candidates = this.#mapRuns.startedChildren(
        this.#mapRuns.get(input.mapRunArn as string).mapRunArn,
      );
    } else {
      const machine = await this.#machine(input.stateMachineArn as string);
      const arns = this.#executionsByMachine.get(machine.stateMachineArn) ?? [];
      candidates = arns.map((arn) => this.#executions.get(arn) as ExecutionRecord).reverse();
    }
    const records = candidates
      .filter((record) => status === undefined || record.status === status)
      .filter(
        (record) =>
          redriveFilter === undefined ||
          (redriveFilter === "REDRIVEN" ? record.redriveCount > 0 : record.redriveCount === 0),
      );
    const page = paginate(records, input, 1000, 100);
    return {
      executions: page.items.map((record) => ({
        executionArn: record.executionArn,
        stateMachineArn: record.stateMachineArn,
        name: record.name,
        status: record.status,
        startDate: seconds(record.startDate),
        stopDate: record.status === "RUNNING" ? undefined : seconds(record.stopDate),
        redriveCount: record.redriveCount,
        redriveDate: seconds(record.redriveDate),
        mapRunArn: byMapRun ? record.mapRunArn : undefined,
        itemCount: byMapRun ? (record.itemCount ?? 1) : undefined,
      })),
      nextToken: page.nextToken,
    };
  }

  // ---- Map Runs ------------------------------------------------------------

  async listMapRuns(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    return this.#mapRuns.list(record.executionArn, input);
  }

  async describeMapRun(input: Input): Promise<Input> {
    await this.ready;
    return this.#mapRuns.describe(input);
  }

  async getExecutionHistory(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    const events = await this.#events(record.executionArn);
    const ordered = input.reverseOrder === true ? [...events].reverse() : events;
    const page = paginate(ordered, input, 1000, 100);
    const includeData = input.includeExecutionData !== false;
    return {
      events: page.items.map((event) => {
        const visible = includeData ? event : withoutExecutionData(event);
        return { ...visible, timestamp: visible.timestamp / 1000 };
      }),
      nextToken: page.nextToken,
    };
  }

  async #events(executionArn: string): Promise<HistoryEvent[]> {
    const live = this.#runner.history(executionArn);
    if (live) return live.events;
    return this.#store.readHistory(executionArn);
  }

  async redriveExecution(input: Input): Promise<Input> {
    const record = await this.#execution(requireString(input, "executionArn"));
    const problem = this.#redriveProblem(record);
    if (problem !== undefined) throw apiErrors.executionNotRedrivable(problem);

    await this.#runner.relaunch(record);
    return { redriveDate: seconds(record.redriveDate) };
  }

  /** Returns the reason `record` cannot be redriven, or undefined when it can. */
  #redriveProblem(record: ExecutionRecord): string | undefined {
    // https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html
    if (record.type === "EXPRESS") return "Express executions cannot be redriven";
    // Children of a Map Run are redriven by redriving their parent execution.
    // https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html
    if (record.mapRunArn !== undefined)
      return `Execution is a child of Map Run ${record.mapRunArn}. Redrive the execution that started the Map Run instead`;
    if (record.status === "RUNNING" || record.status === "PENDING_REDRIVE")
      return `Execution is ${record.status} and cannot be redriven`;
    if (record.status === "SUCCEEDED") return "Execution is SUCCEEDED and cannot be redriven";
    if (record.redriveCount >= MAX_REDRIVE_COUNT)
      return `Execution was redriven ${MAX_REDRIVE_COUNT} times, the maximum`;
    if (record.notRedrivableReason) return record.notRedrivableReason;
    if (!record.restartPoint)
      return "Execution ended before any state ran, so there is nothing to redrive";
    return undefined;
  }

  // ---- Task tokens ---------------------------------------------------------

  async sendTaskSuccess(input: Input): Promise<Input> {
    const output = requireString(input, "output");
    if (Buffer.byteLength(output, "utf8") > MAX_PAYLOAD_BYTES) {
      throw apiErrors.validation(
        `1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`,
      );
    }
    this.#tokens.succeed(requireString(input, "taskToken"), output);
    return {};
  }

  async sendTaskFailure(input: Input): Promise<Input> {
    this.#tokens.fail(
      requireString(input, "taskToken"),
      input.error as string | undefined,
      input.cause as string | undefined,
    );
    return {};
  }

  async sendTaskHeartbeat(input: Input): Promise<Input> {
    this.#tokens.heartbeat(requireString(input, "taskToken"));
    return {};
  }

  // ---- TestState -----------------------------------------------------------

  async testState(input: Input): Promise<Input> {
    await this.ready;
    const options = this.#options;
    return runTestState(input, {
      clock: options.clock,
      logger: options.logger,
      invoker: options.invoker,
      s3: options.s3,
      tokens: this.#tokens,
      region: this.region,
      accountId: this.accountId,
    });
  }

  // ---- Helpers -------------------------------------------------------------

  async #machine(arn: string): Promise<StateMachineRecord> {
    await this.ready;
    return this.#registry.get(arn);
  }

  async #execution(arn: string): Promise<ExecutionRecord> {
    await this.ready;
    assertExecutionArn(arn);
    const record = this.#executions.get(arn);
    if (!record) throw apiErrors.executionDoesNotExist(arn);
    return record;
  }

  #executionInput(value: unknown): string {
    const text = value === undefined ? "{}" : String(value);
    if (Buffer.byteLength(text, "utf8") > MAX_PAYLOAD_BYTES) {
      throw apiErrors.validation(
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_BYTES}`,
      );
    }
    try {
      JSON.parse(text);
    } catch (error) {
      throw apiErrors.invalidExecutionInput(
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    return text;
  }

  #newRecord(
    machine: StateMachineRecord,
    name: string,
    inputText: string,
    express: boolean,
  ): ExecutionRecord {
    const definition = machine.definition;
    return {
      executionArn: executionArn(
        machine.stateMachineArn,
        name,
        express,
        express ? randomUUID() : "",
      ),
      stateMachineArn: machine.stateMachineArn,
      name,
      type: machine.type,
      status: "RUNNING",
      startDate: this.#clock.now(),
      input: inputText,
      redriveCount: 0,
      definition,
      roleArn: machine.roleArn,
    };
  }

  #addExecution(record: ExecutionRecord): void {
    this.#executions.set(record.executionArn, record);
    const list = this.#executionsByMachine.get(record.stateMachineArn) ?? [];
    list.push(record.executionArn);
    this.#executionsByMachine.set(record.stateMachineArn, list);
  }
}
