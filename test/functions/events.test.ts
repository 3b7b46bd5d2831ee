import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventsHandler } from "../../functions/events";
import { localLambdaContext } from "../../lib/delivery/poller";
import type { LocalBridge } from "../../lib/local/bridge";
import { startMissingWorkflowSetup, type MissingWorkflowSetup } from "../e2e/missing-workflow";
import { readJsonFixture } from "../helpers/fixtures";
import { captureLogOutput } from "../helpers/log-capture";
import { startTestBridge } from "../helpers/local-bridge";

function context(requestId: string, remainingMs = 30_000): Context {
  return { ...localLambdaContext(remainingMs, requestId), functionName: "events" };
}

describe("events function", () => {
  let bridge: LocalBridge;
  let handler: ReturnType<typeof createEventsHandler>;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true });
    handler = createEventsHandler(() => bridge.runtime);
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("starts a GuardDuty finding from an EventBridge event once", async () => {
    const event = readJsonFixture("payloads/guardduty-ssh-bruteforce.json");

    const first = await handler(event, context("r1"));
    const second = await handler(event, context("r2"));

    expect(first.source).toBe("guardduty");
    expect(first.results.map((result) => result.status)).toEqual(["created"]);
    expect(second.results.map((result) => result.status)).toEqual(["duplicate"]);
    expect(bridge.emulator!.instances()).toHaveLength(1);
  });

  it("starts a CloudWatch alarm from an SNS Lambda event", async () => {
    const result = await handler(readJsonFixture("payloads/cloudwatch-sns-lambda-alarm.json"), context("r3"));

    expect(result.source).toBe("cloudwatch");
    expect(result.results.map((item) => item.status)).toEqual(["created"]);
  });

  it("starts each Security Hub finding and skips the resolved one", async () => {
    const result = await handler(readJsonFixture("payloads/securityhub-imported-3-findings.json"), context("r4"));

    expect(result.results.map((item) => item.status)).toEqual(["created", "created", "skipped"]);
  });

  it("rejects an event no adapter understands", async () => {
    await expect(handler({ source: "aws.s3", "detail-type": "Object Created", detail: {} }, context("r5"))).rejects.toMatchObject({
      code: "BRIDGE.EVENT_UNKNOWN",
    });
  });

  it("gives up on SecMaster before the invocation ends", async () => {
    // The create is stored but gets no response. The calls stop at half of the 2 s left, and the
    // retry AWS makes finds the instance by a look-up.
    bridge.emulator!.setFaults({ script: ["accept-timeout"] });
    const event = readJsonFixture("payloads/securityhub-imported-single.json");
    const startedMs = Date.now();

    await expect(handler(event, context("r7", 2_000))).rejects.toMatchObject({ code: "BRIDGE.START_FAILED" });
    const elapsedMs = Date.now() - startedMs;
    bridge.emulator!.setFaults({});
    const retry = await handler(event, context("r8"));

    expect(elapsedMs).toBeLessThan(2_000);
    expect(retry.results.map((item) => item.status)).toEqual(["duplicate"]);
    expect(bridge.emulator!.stats().duplicateAttempts).toBe(0);
  });

  it("throws when an alert could not be started, so AWS retries", async () => {
    // 503 is not ambiguous, so the client spends all four attempts without looking the instance up.
    bridge.emulator!.setFaults({ script: ["503", "503", "503", "503"] });

    await expect(handler(readJsonFixture("payloads/guardduty-iam-credential-exfil.json"), context("r6"))).rejects.toMatchObject({
      code: "BRIDGE.START_FAILED",
    });
    bridge.emulator!.setFaults({});
  });
});

describe("events function in queue mode", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_MODE: "queue" } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("enqueues the finding and dispatch starts it", async () => {
    const handler = createEventsHandler(() => bridge.runtime);

    const result = await handler(readJsonFixture("payloads/guardduty-ssh-bruteforce.json"), context("q1"));

    expect(result.results.map((item) => item.status)).toEqual(["accepted"]);
    await expect.poll(() => bridge.emulator!.instances().length, { timeout: 10_000 }).toBe(1);
  });
});

describe("events function with a missing workflow", () => {
  let setup: MissingWorkflowSetup;

  beforeAll(async () => {
    setup = await startMissingWorkflowSetup();
  });
  afterAll(async () => {
    await setup.close();
  });

  it("dead-letters the finding instead of failing", async () => {
    const handler = createEventsHandler(() => setup.bridge.runtime);
    const logs = captureLogOutput();

    const result = await handler(readJsonFixture("payloads/guardduty-ssh-bruteforce.json"), context("m1"));
    logs.restore();

    // The invocation publishes what it counted as an Embedded Metric Format line.
    expect(logs.text()).toMatch(/"DeadLettered":1\b/);
    expect(logs.text()).toMatch(/"AlertsReceived":1\b/);

    expect(result.results.map((item) => item.status)).toEqual(["dead-lettered"]);
    expect(result.results[0]!.code).toBe("SecMaster.20030001");
    expect(await setup.bridge.deadLetters!.approximateCount()).toBe(1);
  });

  it("fails naming the workflow id without a dead-letter queue", async () => {
    const runtime = { ...setup.bridge.runtime, deadLetters: undefined };
    const handler = createEventsHandler(() => runtime);

    await expect(handler(readJsonFixture("payloads/guardduty-iam-credential-exfil.json"), context("m2"))).rejects.toMatchObject({
      code: "BRIDGE.START_REJECTED",
      field: "workflow_id",
      fix: expect.stringContaining("SECMASTER_WORKFLOW_ID"),
    });
  });
});
