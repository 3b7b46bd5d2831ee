import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createScheduleHandler } from "../../functions/schedule";
import { localLambdaContext } from "../../lib/delivery/poller";
import { loadConfig } from "../../lib/config";
import type { BridgeError } from "../../lib/errors";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import type { RunningEmulator } from "../../lib/local/emulator";
import { createRuntime, type Runtime } from "../../lib/runtime";
import { readSchedulesFile } from "../../lib/schedule/load";
import { startRoutingEmulator } from "../helpers/routing-emulator";

const CONTEXT = { awsRequestId: "schedule-test", functionName: "schedule", getRemainingTimeInMillis: () => 60_000 } as Context;

describe("schedule function", () => {
  let emulator: RunningEmulator;
  let dynamodb: LocalDynamoDB;
  let runtime: Runtime;
  let handler: ReturnType<typeof createScheduleHandler>;

  beforeAll(async () => {
    const started = await startRoutingEmulator();
    emulator = started.emulator;
    dynamodb = await startDynalite();
    await ensureIdempotencyTable(dynamodb.endpoint, "schedule-test");
    runtime = createRuntime(loadConfig({ ...started.env, BRIDGE_IDEMPOTENCY_TABLE: "schedule-test", BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint, SECMASTER_MAX_ATTEMPTS: "1" }));
    const schedules = readSchedulesFile("test/fixtures/schedule/schedules.yaml");
    handler = createScheduleHandler(() => ({ runtime, schedules }));
  });
  beforeEach(() => {
    emulator.reset();
  });
  afterAll(async () => {
    await runtime.close();
    await dynamodb.close();
    await emulator.close();
  });

  it("starts one instance per scheduled time", async () => {
    const event = { schedule: "nightly-posture", time: "2026-01-15T18:00:00Z", event_id: "e-1" };

    const first = await handler(event, CONTEXT);
    const repeated = await handler({ ...event, event_id: "e-1" }, CONTEXT);

    expect(first).toEqual({
      schedule: "nightly-posture",
      scheduled_time: "2026-01-15T18:00:00.000Z",
      action_instance_id: "41440672-9265-5de0-b13c-cc19da30fc68",
      workflow_id: "00000000-0000-4000-8000-00000000f001",
      status: "created",
    });
    expect(repeated.status).toBe("duplicate");
    expect(repeated.action_instance_id).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(emulator.instances()).toHaveLength(1);
  });

  it("sends the filled template", async () => {
    await handler({ schedule: "nightly-posture", time: "2026-01-16T18:00:00Z" }, CONTEXT);

    const [stored] = emulator.instances();
    const request = stored!.request as { action_instance_id: string; playbook_context: { data_object: { content: Record<string, unknown>; dataclass: unknown } } };
    expect(request.action_instance_id).toBe("7b89907d-1d5f-55ba-bea7-6d8a97a5d8b9");
    expect(request.playbook_context.data_object.content.title).toBe("Nightly posture review 2026-01-16");
    expect(request.playbook_context.data_object.content.description).toBe("Started by schedule nightly-posture for 2026-01-16T18:00:00.000Z");
    expect(request.playbook_context.data_object.dataclass).toEqual({ id: "dddddddd-0000-4000-8000-000000000001", name: "Alert" });
  });

  it("starts the schedule's own workflow", async () => {
    const result = await handler({ schedule: "hourly-sweep", time: "2026-01-15T19:00:00Z" }, CONTEXT);

    expect(result.action_instance_id).toBe("9c80b861-8fec-5d32-a85f-aac885d6e54d");
    expect(emulator.instances()[0]!.workflow_id).toBe("aaaaaaaa-0000-4000-8000-000000000005");
  });

  it("skips a disabled schedule", async () => {
    const result = await handler({ schedule: "paused", time: "2026-01-15T19:05:00Z" }, CONTEXT);

    expect(result.status).toBe("skipped");
    expect(result.reason).toBe("the schedule is disabled in the schedules file");
    expect(emulator.instances()).toHaveLength(0);
  });

  it("rejects unknown schedules and bad events", async () => {
    const codeOf = (event: unknown) => handler(event, CONTEXT).then(() => "resolved", (error: BridgeError) => error.code);

    expect(await codeOf({ schedule: "nope", time: "2026-01-15T19:00:00Z" })).toBe("BRIDGE.SCHEDULE_UNKNOWN");
    expect(await codeOf({ schedule: "paused", time: "yesterday" })).toBe("BRIDGE.TIME_INVALID");
    expect(await codeOf({ "detail-type": "Scheduled Event", time: "2026-01-15T19:00:00Z" })).toBe("BRIDGE.PAYLOAD_INVALID");
  });

  it("points a malformed event to the schedule docs", async () => {
    const failure = (await handler({ "detail-type": "Scheduled Event" }, CONTEXT).catch((error: unknown) => error)) as BridgeError;

    expect(failure.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(failure.field).toBe("schedule");
    expect(failure.fix).toBe('send the input of the schedule\'s EventBridge rule, {"schedule": NAME, "time": <$.time>}; see "Running schedules" in docs/routing.md');
  });

  it("gives up on SecMaster before the invocation ends", async () => {
    // The create is stored but gets no response, so the call stops at half of the 2 s left.
    emulator.setFaults({ script: ["accept-timeout"] });
    const deadline = Date.now() + 2_000;
    const shortContext = localLambdaContext(2_000, "schedule-test");
    const event = { schedule: "nightly-posture", time: "2026-01-18T18:00:00Z" };
    try {
      const failure = await handler(event, shortContext).catch((error: unknown) => error);

      expect(Date.now()).toBeLessThan(deadline);
      expect((failure as BridgeError).code).toBe("BRIDGE.START_FAILED");
      expect((failure as BridgeError).message).toContain("aborted by the caller");
    } finally {
      emulator.setFaults({});
    }
    // The retry finds the stored instance by a look-up instead of posting it again.
    expect((await handler(event, CONTEXT)).status).toBe("duplicate");
    expect(emulator.stats().duplicateAttempts).toBe(0);
  });

  it("throws when SecMaster does not start the instance", async () => {
    emulator.setFaults({ rate5xx: 1 });
    try {
      const failure = await handler({ schedule: "nightly-posture", time: "2026-01-17T18:00:00Z" }, CONTEXT).catch((error: unknown) => error);

      expect((failure as BridgeError).code).toBe("BRIDGE.START_FAILED");
      expect((failure as BridgeError).message).toMatch(/^failed to start workflow instance [0-9a-f-]{36} for schedule nightly-posture at 2026-01-17T18:00:00\.000Z: SecMaster returned 5\d\d/);
    } finally {
      emulator.setFaults({});
    }
  });
});
