import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScheduleHandler } from "../../functions/schedule";
import type { LocalBridge } from "../../lib/local/bridge";
import { readSchedulesFile } from "../../lib/schedule/load";
import { startTestBridge } from "../helpers/local-bridge";

const SCHEDULES_FILE = "test/fixtures/schedule/queue-e2e.yaml";
const CONTEXT = { awsRequestId: "schedule-e2e", functionName: "schedule", getRemainingTimeInMillis: () => 60_000 } as Context;

describe("scheduled run through the local queue", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_MODE: "queue", BRIDGE_SCHEDULES_FILE: SCHEDULES_FILE } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("ends as exactly one instance", async () => {
    const results = await bridge.scheduler!.runDue(new Date("2199-01-16T00:00:00.000Z"));

    expect(results).toEqual([
      {
        schedule: "posture-check",
        scheduled_time: "2199-01-15T06:00:00.000Z",
        action_instance_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        workflow_id: "00000000-0000-4000-8000-00000000f001",
        status: "accepted",
      },
    ]);
    await expect.poll(() => bridge.emulator!.instances().length, { timeout: 10_000 }).toBe(1);

    // A second delivery of the same event, as a Lambda retry would make, is queued again and
    // dispatch finds the instance already started.
    const handler = createScheduleHandler(() => ({ runtime: bridge.runtime, schedules: readSchedulesFile(SCHEDULES_FILE) }));
    const retried = await handler({ schedule: "posture-check", time: "2199-01-15T06:00:00Z", event_id: "retry" }, CONTEXT);

    expect(retried.status).toBe("accepted");
    expect(retried.action_instance_id).toBe(results[0]!.action_instance_id);
    await expect.poll(() => bridge.queue!.approximateCount(), { timeout: 10_000 }).toBe(0);
    const instances = bridge.emulator!.instances();
    expect(instances).toHaveLength(1);
    const request = instances[0]!.request as { action_instance_id: string; playbook_context: { data_object: { content: { title: string } } } };
    expect(request.action_instance_id).toBe(results[0]!.action_instance_id);
    expect(request.playbook_context.data_object.content.title).toBe("Posture check 2199-01-15");
    expect(await bridge.deadLetters!.approximateCount()).toBe(0);
  });
});
