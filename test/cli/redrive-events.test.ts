import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEventsHandler } from "../../functions/events";
import { redriveCommand } from "../../lib/cli/queue";
import { decodeEnvelope } from "../../lib/delivery/queue";
import { failedInvocationRecord } from "../../lib/delivery/redrive";
import type { LocalBridge } from "../../lib/local/bridge";
import { EMULATOR_DEFAULTS } from "../../lib/local/local-emulator";
import { captureCliOutput } from "../helpers/cli-output";
import { readJsonFixture } from "../helpers/fixtures";
import { captureLogOutput } from "../helpers/log-capture";
import { startTestBridge } from "../helpers/local-bridge";

const EVENTS_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:secmaster-bridge-dev-events";

function context(requestId: string): Context {
  return { awsRequestId: requestId, functionName: "events", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
}

// The record Lambda's on-failure destination sends after the events function failed on `event`.
function recordOf(event: unknown): string {
  return failedInvocationRecord(event, new Error("failed to send 1 job to the jobs queue: SQS returned 503"), EVENTS_ARN);
}

describe("redrive of failed AWS events", () => {
  let bridge: LocalBridge;
  let dataDir: string;

  beforeAll(async () => {
    // In direct mode too, the bridge's poller starts the jobs that a redrive moves to its queue.
    bridge = await startTestBridge({ inMemoryStore: true });
    dataDir = dirname(bridge.infoFile);
  });
  afterAll(async () => {
    await bridge.close();
  });
  beforeEach(async () => {
    // Each test starts with empty queues.
    await bridge.deadLetters!.delete((await bridge.deadLetters!.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).map((message) => message.receiptHandle));
  });

  async function deadLetter(bodies: string[]): Promise<void> {
    await bridge.deadLetters!.send(bodies.map((body, index) => ({ id: String(index), body })));
  }

  it("starts a GuardDuty finding once under the events function's id", async () => {
    const event = readJsonFixture("payloads/guardduty-ssh-bruteforce.json");
    await deadLetter([recordOf(event)]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--default-target"], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 0 dead-lettered jobs and 1 failed AWS event back to");
    expect(output.out()).toMatch(/failed AWS events: 1\n {2}GuardDuty Finding [0-9a-f-]+: moved as 1 start job \(RetriesExhausted: failed to send 1 job/);
    expect(output.out()).toContain("LAMBDA.EVENT_FAILED: 1");
    await expect.poll(() => bridge.emulator!.instances().length, { timeout: 10_000 }).toBe(1);
    expect(await bridge.deadLetters!.approximateCount()).toBe(0);
    // The events function maps the same event to the instance the redrive started.
    const again = await createEventsHandler(() => bridge.runtime)(event, context("after-redrive"));
    expect(again.results.map((result) => result.status)).toEqual(["duplicate"]);
    expect(bridge.emulator!.instances()).toHaveLength(1);
  });

  it("plans one job per firing finding in a dry run", async () => {
    await deadLetter([recordOf(readJsonFixture("payloads/securityhub-imported-3-findings.json"))]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--dry-run", "--default-target"], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("0 dead-lettered jobs and 1 failed AWS event in");
    expect(output.out()).toMatch(/Security Hub Findings - Imported [0-9a-f-]+: 2 start jobs planned/);
    expect(await bridge.deadLetters!.approximateCount()).toBe(1);
  });

  it("moves each job of an SNS event with the routing file", async () => {
    const routes = join(dataDir, "routes.yaml");
    writeFileSync(
      routes,
      [
        "rules:",
        "  - name: alarms",
        "    match: { source: cloudwatch }",
        "    targets:",
        `      - { workspace_id: ${EMULATOR_DEFAULTS.workspaceId}, workflow_id: wf-cloudwatch-alarms }`,
        "",
      ].join("\n"),
    );
    await deadLetter([recordOf(readJsonFixture("payloads/cloudwatch-sns-lambda-alarm.json"))]);
    const before = bridge.emulator!.instances().length;
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--routes", routes], output.io, {});
    logs.restore();

    expect(exitCode).toBe(0);
    expect(output.out()).toMatch(/SNS message [0-9a-f-]+: moved as 1 start job/);
    // The emulator serves only the default workflow, so the job dead-letters again, which shows
    // the redrive planned it for the routed workflow.
    await expect.poll(async () => bridge.deadLetters!.approximateCount(), { timeout: 10_000 }).toBe(1);
    const [message] = await bridge.deadLetters!.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    expect(decodeEnvelope(message!.body).job.workflowId).toBe("wf-cloudwatch-alarms");
    expect(decodeEnvelope(message!.body).job.source).toBe("cloudwatch");
    expect(bridge.emulator!.instances()).toHaveLength(before);
  });

  it("keeps an event no adapter reads", async () => {
    const unknown = recordOf({ source: "aws.s3", "detail-type": "Object Created", id: "e-s3", detail: {} });
    await deadLetter([unknown]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--default-target"], output.io, {});
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain(
      "Object Created e-s3: kept in the dead-letter queue, event is not a GuardDuty, Security Hub or CloudWatch event or SNS notification",
    );
    expect(output.out()).toContain("to move the kept ones, fix the problem shown and redrive again");
    const [kept] = await bridge.deadLetters!.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    expect(kept!.body).toBe(unknown);
  });

  it("deletes an event no adapter reads with --drop-unplannable", async () => {
    await deadLetter([recordOf({ source: "aws.s3", "detail-type": "Object Created", id: "e-s3", detail: {} })]);
    const dryRun = captureCliOutput();
    const real = captureCliOutput();
    const logs = captureLogOutput();

    const dryRunExit = await redriveCommand(["--data-dir", dataDir, "--default-target", "--drop-unplannable", "--dry-run"], dryRun.io, {});
    const realExit = await redriveCommand(["--data-dir", dataDir, "--default-target", "--drop-unplannable"], real.io, {});
    logs.restore();

    expect(dryRunExit).toBe(0);
    expect(dryRun.out()).toContain("Object Created e-s3: would be deleted, event is not a GuardDuty");
    expect(realExit).toBe(0);
    expect(real.out()).toContain("Object Created e-s3: deleted, event is not a GuardDuty");
    expect(await bridge.deadLetters!.approximateCount()).toBe(0);
  });

  it("deletes an event whose alerts are all skipped", async () => {
    const resolved = readJsonFixture<{ detail: { findings: Array<{ Workflow?: { Status: string } }> } }>("payloads/securityhub-imported-single.json");
    for (const finding of resolved.detail.findings) finding.Workflow = { Status: "RESOLVED" };
    await deadLetter([recordOf(resolved)]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--default-target"], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toMatch(/Security Hub Findings - Imported [0-9a-f-]+: every alert skipped, record deleted/);
    expect(await bridge.deadLetters!.approximateCount()).toBe(0);
  });
});
