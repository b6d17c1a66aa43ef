/**
 * Task tokens of `.waitForTaskToken` tasks, completed by SendTaskSuccess,
 * SendTaskFailure and SendTaskHeartbeat.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
 */
import { randomBytes } from "node:crypto";
import { apiErrors, StatesError } from "../errors.ts";

interface PendingTask {
  resolve(output: unknown): void;
  reject(error: StatesError): void;
  heartbeat(): void;
}

/** Open task tokens of every running execution of one service. */
export class TaskTokenRegistry {
  readonly #pending = new Map<string, PendingTask>();
  /** Tokens that were open once, so late callbacks get TaskTimedOut rather than TaskDoesNotExist. */
  readonly #closed = new Set<string>();

  /** Creates a fresh token. */
  create(): string {
    return randomBytes(96).toString("base64");
  }

  /** Waits for a callback on `token`; the task settles with the output or error sent. */
  register(token: string, task: PendingTask): void {
    this.#pending.set(token, task);
  }

  /** Forgets `token` once its task ended for any reason. */
  close(token: string): void {
    if (this.#pending.delete(token)) {
      this.#closed.add(token);
      if (this.#closed.size > 100_000) this.#closed.clear();
    }
  }

  succeed(token: string, outputText: string): void {
    let output: unknown;
    try {
      output = JSON.parse(outputText);
    } catch {
      throw apiErrors.invalidOutput(
        `Invalid output: the output of a task must be JSON, received '${outputText.slice(0, 100)}'`,
      );
    }
    const task = this.#take(token);
    task.resolve(output);
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    const task = this.#take(token);
    task.reject(new StatesError(error ?? "", cause));
  }

  heartbeat(token: string): void {
    this.#find(token).heartbeat();
  }

  #take(token: string): PendingTask {
    const task = this.#find(token);
    this.close(token);
    return task;
  }

  #find(token: string): PendingTask {
    const task = this.#pending.get(token);
    if (task) return task;
    if (this.#closed.has(token)) throw apiErrors.taskTimedOut();
    throw apiErrors.taskDoesNotExist();
  }
}
