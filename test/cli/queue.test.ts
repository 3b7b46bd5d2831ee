import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readDeliveries, redriveCommand, replayCommand } from "../../lib/cli/queue";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope, encodeEnvelope, newEnvelope, type JobError } from "../../lib/delivery/queue";
import { regionOfQueueUrl, SqsQueue } from "../../lib/delivery/sqs";
import type { LocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { useSqsStandin } from "../helpers/sqs-standin";
import { jobFor } from "../delivery/harness";
import { captureCliOutput } from "../helpers/cli-output";
import { startTestBridge } from "../helpers/local-bridge";

const THROTTLED: JobError = {
  code: "APIG.0308",
  reason: "SecMaster returned 429 APIG.0308",
  retryable: true,
  ambiguous: false,
  receiveCount: 5,
  failedAt: "2026-01-15T08:30:00.000Z",
};

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-queue-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Captures a command's output; `tty` makes stderr look like a terminal. */

async function deadLetter(count: number, lastError: JobError = THROTTLED): Promise<void> {
  const { deadLetters } = openLocalQueues(dataDir, 5);
  await deadLetters.send(
    Array.from({ length: count }, (_, index) => ({ id: String(index), body: encodeEnvelope({ ...newEnvelope(jobFor(index)), lastError }) })),
  );
}

describe("redrive on the local queue", () => {
  it("counts dead letters by error code in a dry run", async () => {
    await deadLetter(2);
    const { deadLetters } = openLocalQueues(dataDir, 5);
    await deadLetters.send([{ id: "x", body: JSON.stringify({ invalidBody: "garbage", lastError: { code: "BRIDGE.JOB_INVALID" } }) }]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--dry-run", "--data-dir", dataDir], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("3 dead-lettered jobs in");
    expect(output.out()).toContain("  APIG.0308: 2\n");
    expect(output.out()).toContain("  BRIDGE.JOB_INVALID: 1\n");
    const queues = openLocalQueues(dataDir, 5);
    expect(await queues.queue.approximateCount()).toBe(0);
    expect(await queues.deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).toHaveLength(3);
  });

  it("moves jobs back marked as attempted and without their error", async () => {
    await deadLetter(3);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 3 dead-lettered jobs back to");
    const queues = openLocalQueues(dataDir, 5);
    expect(await queues.deadLetters.approximateCount()).toBe(0);
    const moved = (await queues.queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).map((message) => decodeEnvelope(message.body));
    expect(moved.map((envelope) => envelope.job.actionInstanceId).sort()).toEqual([jobFor(0), jobFor(1), jobFor(2)].map((job) => job.actionInstanceId).sort());
    expect(moved.map((envelope) => envelope.priorAttempts)).toEqual([5, 5, 5]);
    expect(moved.every((envelope) => envelope.lastError === undefined && envelope.deadLetteredAt === undefined)).toBe(true);
  });

  it("counts one job in the singular", async () => {
    await deadLetter(1);
    const { deadLetters } = openLocalQueues(dataDir, 5);
    await deadLetters.send([{ id: "x", body: JSON.stringify({ invalidBody: "garbage", lastError: { code: "BRIDGE.JOB_INVALID" } }) }]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain("not jobs, left in the dead-letter queue: 1 message\n");
  });

  it("stops at the limit", async () => {
    await deadLetter(4);
    const output = captureCliOutput();

    await redriveCommand(["--data-dir", dataDir, "--limit", "3"], output.io, {});

    const queues = openLocalQueues(dataDir, 5);
    expect(await queues.queue.approximateCount()).toBe(3);
    expect(await queues.deadLetters.approximateCount()).toBe(1);
  });

  it("draws a progress bar on a terminal for large queues", async () => {
    await deadLetter(120);
    const output = captureCliOutput(true);

    await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(output.err()).toContain("\rredriving [");
    expect(output.err()).toContain("] 120/120");
    expect(output.out()).toContain("moved 120 dead-lettered jobs");
  });

  it("writes progress lines when stderr is not a terminal", async () => {
    await deadLetter(100);
    const output = captureCliOutput(false);

    await redriveCommand(["--data-dir", dataDir], output.io, {});

    expect(output.err()).toContain("redriving: 100/100 (100%)\n");
    expect(output.err()).not.toContain("\r");
  });

  it("rejects an invalid limit", async () => {
    const output = captureCliOutput();

    expect(await redriveCommand(["--data-dir", dataDir, "--limit", "0"], output.io, {})).toBe(2);
    expect(output.err()).toContain("--limit must be a whole number greater than 0");
  });
});

describe("redrive on SQS", () => {
  const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs";
  const DLQ_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/dead-letters";
  // The CLI signs with the AWS SDK's credential chain, which reads the keys from process.env.
  const aws = useSqsStandin([QUEUE_URL, DLQ_URL]);

  it("moves messages from the dead-letter queue URL to the jobs queue URL", async () => {
    const body = encodeEnvelope({ ...newEnvelope(jobFor(1)), lastError: THROTTLED });
    await new SqsQueue({ queueUrl: DLQ_URL }).send([{ id: "dead-1", body }]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand([], output.io, { ...aws.standin.env(), BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_DLQ_URL: DLQ_URL });

    expect(output.err()).toBe("");
    expect(exitCode).toBe(0);
    expect(aws.sqs.inputs("ReceiveMessage")[0]!.QueueUrl).toBe(DLQ_URL);
    const [sent] = aws.sqs.inputs("SendMessageBatch").filter((input) => input.QueueUrl === QUEUE_URL);
    const entries = sent!.Entries as { MessageBody: string }[];
    expect(decodeEnvelope(entries[0]!.MessageBody).priorAttempts).toBe(5);
    expect(aws.sqs.inputs("DeleteMessageBatch")[0]).toEqual({ QueueUrl: DLQ_URL, Entries: [{ Id: "d0", ReceiptHandle: "rh-000000000001-1" }] });
    expect(aws.sqs.messages(DLQ_URL)).toEqual([]);
    expect(aws.sqs.messages(QUEUE_URL).map((message) => decodeEnvelope(message.body).job.actionInstanceId)).toEqual([jobFor(1).actionInstanceId]);
    expect(output.out()).toContain(`moved 1 dead-lettered job back to ${QUEUE_URL}`);
  });

  it("signs with the region of the queue URL without AWS_REGION", async () => {
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--dry-run"], output.io, { AWS_ENDPOINT_URL: aws.standin.url, BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_DLQ_URL: DLQ_URL });

    expect(output.err()).toBe("");
    expect(exitCode).toBe(0);
    expect(output.out()).toContain(`0 dead-lettered jobs in ${DLQ_URL} (dry run, nothing moved)`);
    // The stand-in accepts only signatures scoped to ap-southeast-1, so these calls used the URL's region.
    expect(aws.standin.calls).not.toEqual([]);
  });

  it("needs a region for a queue URL that names none", async () => {
    const output = captureCliOutput();
    const localUrl = `${aws.standin.url}/123456789012/jobs`;

    const exitCode = await redriveCommand(["--queue-url", localUrl, "--dlq-url", `${aws.standin.url}/123456789012/dead-letters`], output.io, {});

    expect(exitCode).toBe(1);
    expect(output.err()).toContain(`AWS_REGION: set it to the region of ${localUrl}, which the queue URL does not name`);
    expect(aws.standin.calls).toEqual([]);
  });

  it("needs both queue URLs", async () => {
    const output = captureCliOutput();

    expect(await redriveCommand(["--queue-url", QUEUE_URL], output.io, {})).toBe(1);
    expect(output.err()).toContain("--dlq-url: set it (or BRIDGE_DLQ_URL)");
  });

  it("reads the region from a queue URL", () => {
    expect(regionOfQueueUrl(QUEUE_URL)).toBe("ap-southeast-1");
    expect(regionOfQueueUrl("https://sqs.cn-north-1.amazonaws.com.cn/123/jobs")).toBe("cn-north-1");
    expect(regionOfQueueUrl("http://127.0.0.1:9324/queue/jobs")).toBeUndefined();
  });
});

// The warning of a replay into a folder that no local bridge reads.
function noBridgeWarning(folder: string): string {
  return `warning: no local bridge runs on the data folder ${folder}, so jobs queued there wait until npm start uses that folder (BRIDGE_DATA_DIR=${folder} npm start)\n`;
}

describe("replay", () => {
  it("needs the SecMaster ids to replay into SQS", async () => {
    const file = join(dataDir, "saved-for-sqs.jsonl");
    writeFileSync(file, `${JSON.stringify(JSON.parse(readFixture("payloads/alertmanager-firing-group.json")))}\n`);
    const output = captureCliOutput();

    // The check comes before any queue is opened, so nothing is sent to this address.
    const exitCode = await replayCommand(["--source", "alertmanager", "--queue-url", "http://127.0.0.1:9/000000000000/jobs", file], output.io, {
      SECMASTER_PROJECT_ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    });

    expect(exitCode).not.toBe(0);
    expect(output.err()).toContain("SECMASTER_WORKSPACE_ID: set it to the id the deployed bridge uses");
    expect(output.err()).toContain("SECMASTER_WORKFLOW_ID: set it to the id the deployed bridge uses");
    expect(output.out()).toBe("");
  });

  it("enqueues each saved delivery as replayed jobs", async () => {
    const file = join(dataDir, "saved.jsonl");
    const firing = JSON.stringify(JSON.parse(readFixture("payloads/alertmanager-firing-group.json")));
    const resolved = JSON.stringify(JSON.parse(readFixture("payloads/alertmanager-resolved.json")));
    writeFileSync(file, `${firing}\n\n${resolved}\n`);
    const output = captureCliOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dataDir, file], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toMatch(/^replayed 2 deliveries into .*: 3 jobs enqueued \(one per alert and workflow\), \d+ skipped, 0 failed\n$/);
    const { queue } = openLocalQueues(dataDir, 5);
    const jobs = (await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).map((message) => decodeEnvelope(message.body));
    expect(jobs).toHaveLength(3);
    expect(jobs.every((envelope) => envelope.priorAttempts === 1)).toBe(true);
    expect(jobs[0]!.job.workflowId).toBe("00000000-0000-4000-8000-00000000f001");
  });

  it("counts one delivery in the singular", async () => {
    const file = join(dataDir, "one.json");
    writeFileSync(file, readFixture("payloads/alertmanager-firing-unicode.json"));
    const output = captureCliOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dataDir, file], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toMatch(/^replayed 1 delivery into .*: 1 job enqueued \(one per alert and workflow\), 0 skipped, 0 failed\n$/);
  });

  it("reports an invalid delivery and goes on", async () => {
    const file = join(dataDir, "saved.jsonl");
    writeFileSync(file, `{"alerts":"not a list"}\n${JSON.stringify(JSON.parse(readFixture("payloads/alertmanager-firing-group.json")))}\n`);
    const output = captureCliOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dataDir, file], output.io, {});

    expect(exitCode).toBe(1);
    expect(output.err()).toMatch(/\ndelivery 1: BRIDGE\.\w+: /);
    expect(output.out()).toContain("3 jobs enqueued (one per alert and workflow), 0 skipped, 1 failed");
  });

  it("rejects a file with lines that are not JSON", () => {
    const file = join(dataDir, "broken.jsonl");
    writeFileSync(file, '{"a":1}\nnot json\n{"b":2}\n');

    expect(() => readDeliveries(file)).toThrow(expect.objectContaining({ code: "BRIDGE.REPLAY_FILE_INVALID", message: expect.stringContaining("line 2 is not JSON") }));
  });

  it("lists several bad lines in plain words", () => {
    const file = join(dataDir, "broken.jsonl");
    writeFileSync(file, 'not json\n{"a":1}\nnot json\nnot json\n');

    expect(() => readDeliveries(file)).toThrow(expect.objectContaining({ message: expect.stringContaining("lines 1, 3 and 4 are not JSON") }));
  });

  it("replays raw CEF lines as one delivery", async () => {
    const output = captureCliOutput();
    const mapping = fileURLToPath(new URL("../fixtures/generic/edge-fw-cef-mapping.json", import.meta.url));
    const file = fileURLToPath(new URL("../fixtures/generic/edge-fw-cef-lines.txt", import.meta.url));

    const exitCode = await replayCommand(["--source", "edge-fw", "--mapping", mapping, "--data-dir", dataDir, file], output.io, {});

    expect(output.err()).toBe(`no routing file (--routes or BRIDGE_ROUTES_FILE), so every firing alert goes to the SECMASTER_* default target\n${noBridgeWarning(dataDir)}`);
    expect(exitCode).toBe(0);
    expect(output.out()).toMatch(/^replayed 1 delivery into .*: 2 jobs enqueued \(one per alert and workflow\), 0 skipped, 0 failed\n$/);
  });

  it("reads a file holding one delivery", () => {
    const file = join(dataDir, "one.json");
    writeFileSync(file, '{\n  "alerts": []\n}\n');

    expect(readDeliveries(file)).toEqual([{ alerts: [] }]);
  });

  it("needs a source and a file", async () => {
    const output = captureCliOutput();

    expect(await replayCommand(["--data-dir", dataDir], output.io, {})).toBe(2);
    expect(output.err()).toContain("replay needs --source SOURCE and one FILE");
  });
});

describe("local queue folder", () => {
  it("replay into a missing folder fails and creates none", async () => {
    const missing = join(dataDir, "no-such-folder");
    const file = join(dataDir, "firing.json");
    writeFileSync(file, readFixture("payloads/alertmanager-firing-unicode.json"));
    const output = captureCliOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", missing, file], output.io, {});

    expect(exitCode).toBe(1);
    expect(output.err()).toContain(`BRIDGE.DATA_DIR_NOT_FOUND: the data folder ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it("redrive warns only when it moves jobs", async () => {
    const dryRun = captureCliOutput();
    const real = captureCliOutput();

    expect(await redriveCommand(["--data-dir", dataDir, "--dry-run"], dryRun.io, {})).toBe(0);
    expect(await redriveCommand(["--data-dir", dataDir], real.io, {})).toBe(0);

    expect(dryRun.err()).not.toContain("warning:");
    expect(real.err()).toContain(noBridgeWarning(dataDir));
  });
});

describe("replay into a running local bridge's queue", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    // Queue mode with a routing file that drops Watchdog alerts; the replay itself sets none.
    bridge = await startTestBridge({
      inMemoryStore: true,
      env: { BRIDGE_MODE: "queue", BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.yaml", BRIDGE_DEFAULT_SEVERITY: "Low" },
    });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("plans with the bridge's routing file", async () => {
    const bridgeDir = dirname(bridge.infoFile);
    const delivery = JSON.parse(readFixture("payloads/alertmanager-firing-group.json")) as { alerts: Array<{ labels: Record<string, string> }> };
    for (const alert of delivery.alerts) alert.labels.alertname = "Watchdog";
    const file = join(dataDir, "watchdog.json");
    writeFileSync(file, JSON.stringify(delivery));
    const output = captureCliOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", bridgeDir, file], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.err()).toContain(`planning with the settings of the local bridge on ${bridgeDir}: `);
    expect(output.err()).toContain(`BRIDGE_ROUTES_FILE=${resolve("test/fixtures/routing/routes.yaml")}, BRIDGE_DEFAULT_SEVERITY=Low`);
    expect(output.out()).toContain(": 0 jobs enqueued (one per alert and workflow), 3 skipped, 0 failed");
  });

  it("keeps a routing file given to the command", async () => {
    const output = captureCliOutput();
    const file = join(dataDir, "firing.json");
    writeFileSync(file, readFixture("payloads/alertmanager-firing-unicode.json"));
    const routes = join(dataDir, "empty-routes.yaml");
    writeFileSync(routes, "rules: []\n");

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dirname(bridge.infoFile), "--routes", routes, file], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.err()).toContain(`planning with the settings of the local bridge on ${dirname(bridge.infoFile)}: BRIDGE_DEFAULT_SEVERITY=Low, `);
    expect(output.err()).not.toContain("BRIDGE_ROUTES_FILE");
    expect(output.out()).toContain(": 1 job enqueued");
  });
});
