import { InvokeCommand } from "@aws-sdk/client-lambda";
import { startBenchSimulator } from "./noop-simulator.ts";
import { round } from "./stats.ts";

const EVENTS = 2_000;

/**
 * Measures events per second through the Event queue: `EVENTS` Invoke calls with
 * `InvocationType: "Event"` through the SDK to a no-op handler, timed from
 * the first call until the queue is idle. The baseline is the same number
 * of synchronous SDK invokes in sequence, in the same run.
 */
export async function benchAsyncInvoke(): Promise<Record<string, number>> {
  const bench = await startBenchSimulator();
  try {
    await bench.createNoop("noop");
    await bench.invoke("noop");
    const payload = Buffer.from("{}");

    const sendEvents = async (count: number) => {
      // Sent in batches of 50, so at most 50 Invoke requests are in flight.
      for (let sent = 0; sent < count; sent += 50) {
        const batch = Array.from({ length: Math.min(50, count - sent) }, () =>
          bench.lambda.send(
            new InvokeCommand({ FunctionName: "noop", InvocationType: "Event", Payload: payload }),
          ),
        );
        await Promise.all(batch);
      }
      await bench.simulator.asyncQueue.idle();
    };
    await sendEvents(100);
    const before = bench.simulator.asyncQueue.stats();

    const started = performance.now();
    await sendEvents(EVENTS);
    const asyncMs = performance.now() - started;
    const after = bench.simulator.asyncQueue.stats();
    const succeeded = after.succeeded - before.succeeded;
    if (succeeded !== EVENTS) {
      throw new Error(
        `The Event queue completed ${succeeded} of ${EVENTS} events (${after.failed - before.failed} failed).`,
      );
    }

    const syncStarted = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      await bench.lambda.send(new InvokeCommand({ FunctionName: "noop", Payload: payload }));
    }
    const syncMs = performance.now() - syncStarted;

    const eventsPerSecond = EVENTS / (asyncMs / 1000);
    const syncPerSecond = EVENTS / (syncMs / 1000);
    return {
      "async.events": EVENTS,
      "async.events_per_second": round(eventsPerSecond),
      "async.sync_invokes_per_second": round(syncPerSecond),
      "async.ratio_vs_sync": round(eventsPerSecond / syncPerSecond),
      "async.environments_used": bench.simulator.lambda.environments("noop").length,
    };
  } finally {
    await bench.close();
  }
}
