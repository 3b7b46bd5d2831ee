import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redriveCommand } from "../../lib/cli/queue";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { SqsQueue } from "../../lib/delivery/sqs";
import { decodeEnvelope, encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { readFailedInvocation } from "../../lib/delivery/redrive";
import { jobFor } from "../delivery/harness";
import { captureCliOutput } from "../helpers/cli-output";
import { captureLogOutput } from "../helpers/log-capture";
import { useSqsStandin } from "../helpers/sqs-standin";

const SCHEDULES = "test/fixtures/schedule/schedules.yaml";
// The Lambda invocation record of a nightly-posture run at 2026-01-15T18:00:00Z.
const RECORD = readFileSync("test/fixtures/schedule/failed-invocation-record.json", "utf8");
// The id that `schedule run nightly-posture --at 2026-01-15T18:00:00Z` gives the same run.
const NIGHTLY_ID = "41440672-9265-5de0-b13c-cc19da30fc68";

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-redrive-schedule-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function deadLetter(bodies: string[]): Promise<void> {
  const { deadLetters } = openLocalQueues(dataDir, 5);
  await deadLetters.send(bodies.map((body, index) => ({ id: String(index), body })));
}

async function bodiesIn(queueName: "queue" | "deadLetters"): Promise<string[]> {
  const messages = await openLocalQueues(dataDir, 5)[queueName].receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
  return messages.map((message) => message.body);
}

function recordFor(schedule: string): string {
  const record = JSON.parse(RECORD) as { requestPayload: { schedule: string } };
  record.requestPayload.schedule = schedule;
  return JSON.stringify(record);
}

describe("readFailedInvocation", () => {
  it("reads the schedule event and the reason", () => {
    expect(readFailedInvocation(RECORD)).toEqual({
      event: { schedule: "nightly-posture", time: "2026-01-15T18:00:00Z", event_id: "0d9c2b47-5e1f-4a88-b3c6-7f20e91d4a55" },
      reason: "RetriesExhausted: failed to enqueue the start job for schedule nightly-posture: SQS returned 503",
    });
  });

  it("ignores jobs, other records and text", () => {
    const otherFunction = JSON.stringify({ requestContext: { condition: "RetriesExhausted" }, requestPayload: { Records: [] } });

    expect(readFailedInvocation(encodeEnvelope(newEnvelope(jobFor(1))))).toBeUndefined();
    expect(readFailedInvocation(otherFunction)).toBeUndefined();
    expect(readFailedInvocation("not json")).toBeUndefined();
    expect(readFailedInvocation("[1]")).toBeUndefined();
  });
});

describe("redrive of failed scheduled runs", () => {
  it("moves a run with --schedules", async () => {
    await deadLetter([RECORD]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 0 dead-lettered jobs and 1 failed scheduled run back to");
    expect(output.out()).toContain("nightly-posture at 2026-01-15T18:00:00Z: moved to the jobs queue (RetriesExhausted: failed to enqueue");
    expect(output.out()).toContain("LAMBDA.SCHEDULED_RUN_FAILED: 1");
    const [moved] = (await bodiesIn("queue")).map((body) => decodeEnvelope(body));
    expect(moved!.job.actionInstanceId).toBe(NIGHTLY_ID);
    expect(moved!.job.source).toBe("schedule");
    expect(moved!.job.content.title).toBe("Nightly posture review 2026-01-15");
    // Dispatch looks the instance up first, because a direct-mode run may have created it.
    expect(moved!.priorAttempts).toBe(1);
    expect(await bodiesIn("deadLetters")).toEqual([]);
  });

  it("names --schedules for a missing file", async () => {
    await deadLetter([RECORD]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", join(dataDir, "missing.yaml")], output.io, {});
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("kept in the dead-letter queue, --schedules: cannot read");
    expect(output.out()).not.toContain("BRIDGE_SCHEDULES_FILE: cannot read");
  });

  it("takes the schedules from BRIDGE_SCHEDULES_FILE", async () => {
    await deadLetter([RECORD]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir], output.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(exitCode).toBe(0);
    expect((await bodiesIn("queue")).map((body) => decodeEnvelope(body).job.actionInstanceId)).toEqual([NIGHTLY_ID]);
  });

  it("lists a run without a schedules file", async () => {
    await deadLetter([RECORD, encodeEnvelope(newEnvelope(jobFor(2)))]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain("failed scheduled runs: 1\n  nightly-posture at 2026-01-15T18:00:00Z: kept in the dead-letter queue");
    expect(output.out()).toContain("redrive with --schedules FILE (or BRIDGE_SCHEDULES_FILE), or run each one, for example: secmaster-bridge schedule run nightly-posture --at 2026-01-15T18:00:00Z\n");
    expect(output.out()).not.toContain("not jobs");
    expect(await bodiesIn("deadLetters")).toEqual([RECORD]);
    expect((await bodiesIn("queue")).map((body) => decodeEnvelope(body).job.actionInstanceId)).toEqual([jobFor(2).actionInstanceId]);
  });

  it.each([
    ["an unknown schedule", "retired-schedule", 'unknown schedule "retired-schedule"; declared schedules: nightly-posture, hourly-sweep, paused'],
    ["a disabled schedule", "paused", "schedule paused is disabled in the schedules file"],
  ])("keeps a run of %s", async (_case, schedule, problem) => {
    await deadLetter([recordFor(schedule)]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES], output.io, {});
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain(`${schedule} at 2026-01-15T18:00:00Z: kept in the dead-letter queue, ${problem} (RetriesExhausted`);
    expect(output.out()).toContain("--drop-unplannable deletes the runs of schedules the file no longer runs");
    expect(logs.text()).toContain("failed scheduled run cannot be planned");
    expect(await bodiesIn("deadLetters")).toHaveLength(1);
    expect(await bodiesIn("queue")).toEqual([]);
  });

  it("deletes unplannable runs with --drop-unplannable", async () => {
    await deadLetter([recordFor("retired-schedule"), RECORD]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES, "--drop-unplannable"], output.io, {});
    logs.restore();

    expect(exitCode).toBe(0);
    expect(output.out()).toContain('retired-schedule at 2026-01-15T18:00:00Z: deleted, unknown schedule "retired-schedule"');
    expect(output.out()).toContain("nightly-posture at 2026-01-15T18:00:00Z: moved to the jobs queue");
    expect(await bodiesIn("deadLetters")).toEqual([]);
    expect((await bodiesIn("queue")).map((body) => decodeEnvelope(body).job.actionInstanceId)).toEqual([NIGHTLY_ID]);
  });

  it("previews --drop-unplannable in a dry run", async () => {
    await deadLetter([recordFor("retired-schedule")]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES, "--drop-unplannable", "--dry-run"], output.io, {});
    logs.restore();

    expect(exitCode).toBe(0);
    expect(output.out()).toContain('retired-schedule at 2026-01-15T18:00:00Z: would be deleted, unknown schedule "retired-schedule"');
    expect(output.out()).not.toContain("--drop-unplannable deletes");
    expect(await bodiesIn("deadLetters")).toHaveLength(1);
  });

  it("keeps a run with invalid time", async () => {
    const record = JSON.parse(RECORD) as { requestPayload: { time: string } };
    record.requestPayload.time = "yesterday";
    await deadLetter([JSON.stringify(record)]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES, "--drop-unplannable"], output.io, {});
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("nightly-posture at yesterday: kept in the dead-letter queue");
    expect(await bodiesIn("deadLetters")).toHaveLength(1);
  });

  it("keeps the schedule's id when re-targeting", async () => {
    await deadLetter([RECORD]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(
      ["--data-dir", dataDir, "--schedules", SCHEDULES, "--workflow-id", "aaaaaaaa-0000-4000-8000-000000000009", "--from-workflow", "aaaaaaaa-0000-4000-8000-000000000008"],
      output.io,
      {},
    );

    expect(exitCode).toBe(0);
    const [moved] = (await bodiesIn("queue")).map((body) => decodeEnvelope(body));
    expect(moved!.job.actionInstanceId).toBe(NIGHTLY_ID);
    expect(moved!.job.workflowId).toBe("00000000-0000-4000-8000-00000000f001");
  });

  it("counts kept runs toward --limit", async () => {
    await deadLetter([recordFor("retired-schedule"), recordFor("retired-schedule"), recordFor("retired-schedule")]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES, "--limit", "1"], output.io, {});
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("failed scheduled runs: 1\n");
  });

  it("reads a record without the function's error", () => {
    const record = JSON.parse(RECORD) as Record<string, unknown>;
    delete record.responsePayload;
    (record.requestContext as Record<string, unknown>).condition = "EventAgeExceeded";

    expect(readFailedInvocation(JSON.stringify(record))?.reason).toBe("EventAgeExceeded");
  });

  it("replaces control characters", async () => {
    await deadLetter([recordFor("evil\u001b[31m-name")]);
    const output = captureCliOutput();

    await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(output.out()).toContain("  evil?[31m-name at 2026-01-15T18:00:00Z: kept in the dead-letter queue");
  });

  it("dry run moves nothing", async () => {
    await deadLetter([RECORD]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES, "--dry-run"], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("0 dead-lettered jobs and 1 failed scheduled run in ");
    expect(output.out()).toContain("(dry run, nothing moved)");
    expect(output.out()).toContain("nightly-posture at 2026-01-15T18:00:00Z: start job planned");
    expect(await bodiesIn("deadLetters")).toEqual([RECORD]);
    expect(await bodiesIn("queue")).toEqual([]);
  });

});

describe("redrive of failed scheduled runs on SQS", () => {
  const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs";
  const DLQ_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/dead-letters";
  const aws = useSqsStandin([QUEUE_URL, DLQ_URL]);

  it("keeps runs without deployed ids", async () => {
    await new SqsQueue({ queueUrl: DLQ_URL }).send([
      { id: "record", body: RECORD },
      { id: "job", body: encodeEnvelope(newEnvelope(jobFor(3))) },
    ]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand([], output.io, { ...aws.standin.env(), BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_DLQ_URL: DLQ_URL, BRIDGE_SCHEDULES_FILE: SCHEDULES });
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain("kept in the dead-letter queue, SECMASTER_PROJECT_ID: set it to the id the deployed bridge uses");
    expect(aws.sqs.messages(QUEUE_URL).map((message) => decodeEnvelope(message.body).job.actionInstanceId)).toEqual([jobFor(3).actionInstanceId]);
    expect(aws.sqs.messages(DLQ_URL).map((message) => message.body)).toEqual([RECORD]);
  });

  it("counts a refused run as failed", async () => {
    await new SqsQueue({ queueUrl: DLQ_URL }).send([{ id: "record", body: RECORD }]);
    aws.sqs.failEntries((_entry, queueUrl) => (queueUrl === QUEUE_URL ? { SenderFault: false, Code: "InternalError", Message: "try again" } : undefined));
    const output = captureCliOutput();
    const logs = captureLogOutput();
    const ids = { SECMASTER_PROJECT_ID: "0123456789abcdef0123456789abcdef", SECMASTER_WORKSPACE_ID: "11111111-2222-4333-8444-555555555555", SECMASTER_WORKFLOW_ID: "00000000-0000-4000-8000-00000000f001" };

    const exitCode = await redriveCommand(["--schedules", SCHEDULES], output.io, { ...aws.standin.env(), ...ids, BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_DLQ_URL: DLQ_URL });
    logs.restore();

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("failed to send back, left in the dead-letter queue: 1 message");
    expect(output.out()).toContain("nightly-posture at 2026-01-15T18:00:00Z: failed to send, kept in the dead-letter queue");
    expect(aws.sqs.messages(DLQ_URL).map((message) => message.body)).toEqual([RECORD]);
  });
});
