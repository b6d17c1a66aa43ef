/**
 * State machines: CreateStateMachine, DescribeStateMachine,
 * UpdateStateMachine, DeleteStateMachine, ListStateMachines and the tag
 * operations, persisted in `state-machines.json`.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
 */
import type { Clock } from "../clock.ts";
import { assertRoleArn, assertStateMachineArn, assertValidName, stateMachineArn } from "./arn.ts";
import { diagnoseDefinition, parseDefinition } from "./asl/validate.ts";
import { apiErrors } from "./errors.ts";
import type { ExecutionStore, StateMachineRecord } from "./execution-store.ts";
import { type Input, paginate, requireString, revisionOf, seconds } from "./request-helpers.ts";

export class StateMachineRegistry {
  readonly #machines = new Map<string, StateMachineRecord>();
  readonly #store: ExecutionStore;
  readonly #clock: Clock;
  readonly region: string;
  readonly accountId: string;

  constructor(options: { store: ExecutionStore; clock: Clock; region: string; accountId: string }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.region = options.region;
    this.accountId = options.accountId;
  }

  /** Adds state machines loaded from disk. */
  load(records: StateMachineRecord[]): void {
    for (const machine of records) this.#machines.set(machine.stateMachineArn, machine);
  }

  get size(): number {
    return this.#machines.size;
  }

  /** Returns the state machine `arn`; throws InvalidArn or StateMachineDoesNotExist. */
  get(arn: string): StateMachineRecord {
    assertStateMachineArn(arn);
    const machine = this.#machines.get(arn);
    if (!machine) throw apiErrors.stateMachineDoesNotExist(arn);
    return machine;
  }

  /** Returns the state machine `arn`, or undefined once it was deleted. */
  find(arn: string): StateMachineRecord | undefined {
    return this.#machines.get(arn);
  }

  async create(input: Input): Promise<Input> {
    const name = requireString(input, "name");
    const definition = requireString(input, "definition");
    const roleArn = requireString(input, "roleArn");
    const type = (input.type as string | undefined) ?? "STANDARD";
    assertValidName(name);
    assertRoleArn(roleArn);
    if (type !== "STANDARD" && type !== "EXPRESS")
      throw apiErrors.validation(`Invalid type '${type}': use STANDARD or EXPRESS`);
    parseDefinition(definition);

    const arn = stateMachineArn(this.region, this.accountId, name);
    const existing = this.#machines.get(arn);
    if (existing) {
      // CreateStateMachine is idempotent for an identical request.
      if (
        existing.definition === definition &&
        existing.roleArn === roleArn &&
        existing.type === type
      ) {
        return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      }
      throw apiErrors.stateMachineAlreadyExists(arn);
    }
    const record: StateMachineRecord = {
      stateMachineArn: arn,
      name,
      type,
      definition,
      roleArn,
      creationDate: this.#clock.now(),
      revisionId: revisionOf(definition, roleArn),
      loggingConfiguration: input.loggingConfiguration,
      tracingConfiguration: input.tracingConfiguration,
      tags: (input.tags as StateMachineRecord["tags"]) ?? [],
    };
    this.#machines.set(arn, record);
    await this.#save();
    return { stateMachineArn: arn, creationDate: seconds(record.creationDate) };
  }

  /**
   * ValidateStateMachineDefinition: runs CreateStateMachine's checks and
   * returns their problems instead of raising InvalidDefinition. At most
   * maxResults diagnostics are returned (default and maximum 100, 0 means
   * 100), with `truncated` set when more were found.
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
   */
  validate(input: Input): Input {
    const diagnostics = diagnoseDefinition(requireString(input, "definition"));
    const requested = input.maxResults as number | undefined;
    const limit = requested === undefined || requested === 0 ? 100 : requested;
    return {
      result: diagnostics.length === 0 ? "OK" : "FAIL",
      diagnostics: diagnostics.slice(0, limit),
      truncated: diagnostics.length > limit,
    };
  }

  async describe(input: Input): Promise<Input> {
    const machine = this.get(requireString(input, "stateMachineArn"));
    return this.#describe(machine);
  }

  #describe(machine: StateMachineRecord): Input {
    return {
      stateMachineArn: machine.stateMachineArn,
      name: machine.name,
      status: "ACTIVE",
      definition: machine.definition,
      roleArn: machine.roleArn,
      type: machine.type,
      creationDate: seconds(machine.creationDate),
      loggingConfiguration: machine.loggingConfiguration ?? {
        level: "OFF",
        includeExecutionData: false,
      },
      tracingConfiguration: machine.tracingConfiguration ?? { enabled: false },
      revisionId: machine.revisionId,
    };
  }

  async update(input: Input): Promise<Input> {
    const machine = this.get(requireString(input, "stateMachineArn"));
    const definition = input.definition as string | undefined;
    const roleArn = input.roleArn as string | undefined;
    if (
      definition === undefined &&
      roleArn === undefined &&
      input.loggingConfiguration === undefined &&
      input.tracingConfiguration === undefined
    ) {
      throw apiErrors.validation(
        "Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be specified",
      );
    }
    if (definition !== undefined) parseDefinition(definition);
    if (roleArn !== undefined) assertRoleArn(roleArn);

    machine.definition = definition ?? machine.definition;
    machine.roleArn = roleArn ?? machine.roleArn;
    if (input.loggingConfiguration !== undefined)
      machine.loggingConfiguration = input.loggingConfiguration;
    if (input.tracingConfiguration !== undefined)
      machine.tracingConfiguration = input.tracingConfiguration;
    machine.updateDate = this.#clock.now();
    machine.revisionId = revisionOf(machine.definition, machine.roleArn);
    await this.#save();
    return { updateDate: seconds(machine.updateDate), revisionId: machine.revisionId };
  }

  /** DeleteStateMachine; deleting an unknown state machine succeeds, as on AWS. */
  async delete(input: Input): Promise<Input> {
    const arn = requireString(input, "stateMachineArn");
    assertStateMachineArn(arn);
    if (this.#machines.delete(arn)) await this.#save();
    return {};
  }

  async list(input: Input): Promise<Input> {
    const machines = [...this.#machines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(machines, input, 1000, 100);
    return {
      stateMachines: page.items.map((machine) => ({
        stateMachineArn: machine.stateMachineArn,
        name: machine.name,
        type: machine.type,
        creationDate: seconds(machine.creationDate),
      })),
      nextToken: page.nextToken,
    };
  }

  async tag(input: Input): Promise<Input> {
    const machine = this.get(requireString(input, "resourceArn"));
    for (const tag of (input.tags as { key: string; value: string }[]) ?? []) {
      machine.tags = machine.tags.filter((existing) => existing.key !== tag.key).concat(tag);
    }
    await this.#save();
    return {};
  }

  async untag(input: Input): Promise<Input> {
    const machine = this.get(requireString(input, "resourceArn"));
    const keys = new Set((input.tagKeys as string[]) ?? []);
    machine.tags = machine.tags.filter((tag) => !keys.has(tag.key));
    await this.#save();
    return {};
  }

  async listTags(input: Input): Promise<Input> {
    const machine = this.get(requireString(input, "resourceArn"));
    return { tags: machine.tags };
  }

  #save(): Promise<void> {
    return this.#store.saveStateMachines([...this.#machines.values()]);
  }
}
