import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { scheduleCommand } from "../../lib/cli/schedule";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope } from "../../lib/delivery/queue";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import type { RunningEmulator } from "../../lib/local/emulator";
import { startRoutingEmulator } from "../helpers/routing-emulator";
import { useSqsStandin } from "../helpers/sqs-standin";

const SCHEDULES = "test/fixtures/schedule/schedules.yaml";
const NOW = () => new Date("2026-01-15T18:00:42.000Z");

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: "", err: "" };
  out.on("data", (chunk: Buffer) => (text.out += chunk.toString()));
  err.on("data", (chunk: Buffer) => (text.err += chunk.toString()));
  return { io: { out, err }, text };
}

describe("schedule CLI", () => {
  let emulator: RunningEmulator;
  let dynamodb: LocalDynamoDB;
  let env: Record<string, string>;

  beforeAll(async () => {
    const started = await startRoutingEmulator();
    emulator = started.emulator;
    dynamodb = await startDynalite();
    await ensureIdempotencyTable(dynamodb.endpoint, "schedule-cli-test");
    env = { ...started.env, BRIDGE_SCHEDULES_FILE: SCHEDULES, BRIDGE_IDEMPOTENCY_TABLE: "schedule-cli-test", BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint };
  });
  beforeEach(() => {
    emulator.reset();
  });
  afterAll(async () => {
    await dynamodb.close();
    await emulator.close();
  });

  it("list says when no schedules are declared", async () => {
    const { io, text } = capture();

    const code = await scheduleCommand(["list", "--schedules", "config/schedules.yaml"], io, {});

    expect(code).toBe(0);
    expect(text.out).toBe("config/schedules.yaml: no schedules declared\n");
  });

  it("lists next scheduled times", async () => {
    const { io, text } = capture();

    const code = await scheduleCommand(["list", "--schedules", SCHEDULES, "--from", "2026-01-15T08:00:00Z"], io, {});

    expect(code).toBe(0);
    expect(text.out.split("\n")[1]).toMatch(/^nightly-posture\s+cron\(0 18 \* \* \? \*\)\s+yes\s+2026-01-15T18:00:00\.000Z, 2026-01-16T18:00:00\.000Z, 2026-01-17T18:00:00\.000Z$/);
    expect(text.out.split("\n")[3]).toMatch(/^paused\s+rate\(5 minutes\)\s+no\s+/);
  });

  it("dry run prints the body with the derived id", async () => {
    const { io, text } = capture();

    const code = await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z", "--dry-run"], io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(code).toBe(0);
    const body = JSON.parse(text.out) as { action_instance_id: string; playbook_context: { data_object: { content: { title: string } } } };
    expect(body.action_instance_id).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(body.playbook_context.data_object.content.title).toBe("Nightly posture review 2026-01-15");
    expect(text.err).toBe("");
  });

  it("runs once per scheduled time through the idempotency table", async () => {
    const first = capture();
    const second = capture();

    expect(await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z"], first.io, env)).toBe(0);
    expect(await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00.000Z"], second.io, env)).toBe(0);

    expect(first.text.out).toBe(
      "created 41440672-9265-5de0-b13c-cc19da30fc68 (schedule nightly-posture at 2026-01-15T18:00:00.000Z, workflow 00000000-0000-4000-8000-00000000f001)\n",
    );
    expect(second.text.out).toMatch(/^duplicate 41440672-9265-5de0-b13c-cc19da30fc68 /);
    expect(emulator.instances()).toHaveLength(1);
  });

  it("--direct starts the instance in queue mode", async () => {
    const run = capture();

    const code = await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-16T18:00:00Z", "--direct"], run.io, { ...env, BRIDGE_MODE: "queue" });

    expect(run.text.err).toBe("");
    expect(code).toBe(0);
    expect(run.text.out).toMatch(/^created /);
    expect(emulator.instances()).toHaveLength(1);
  });

  it("without the store relies on SecMaster's duplicate answer", async () => {
    const first = capture();
    const second = capture();

    expect(await scheduleCommand(["run", "hourly-sweep", "--no-store"], first.io, env, NOW)).toBe(0);
    expect(await scheduleCommand(["run", "hourly-sweep", "--no-store"], second.io, env, NOW)).toBe(0);

    // Without --at the run takes the current minute, 18:00, which is on the hourly rate.
    expect(first.text.err).toBe("");
    expect(first.text.out).toMatch(/^created [0-9a-f-]{36} \(schedule hourly-sweep at 2026-01-15T18:00:00\.000Z, workflow aaaaaaaa-0000-4000-8000-000000000005\)\n$/);
    expect(second.text.out).toMatch(/^duplicate /);
    expect(emulator.instances()).toHaveLength(1);
  });

  it("notes a time off the schedule", async () => {
    const { io, text } = capture();

    await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:30:00Z", "--dry-run"], io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(text.err).toBe("note: 2026-01-15T18:30:00.000Z is not a scheduled time of cron(0 18 * * ? *); running it anyway\n");
  });

  it("notes a run of a disabled schedule", async () => {
    const { io, text } = capture();

    const code = await scheduleCommand(["run", "paused", "--at", "2026-01-15T18:00:00Z", "--dry-run"], io, { BRIDGE_SCHEDULES_FILE: SCHEDULES });

    expect(code).toBe(0);
    expect(text.err).toBe(`note: schedule paused is disabled in ${SCHEDULES}; running it only because it was named\n`);
    expect(JSON.parse(text.out)).toHaveProperty("action_instance_id");
  });

  it("missing file names the option that set it", async () => {
    const fromOption = capture();
    const fromEnv = capture();

    expect(await scheduleCommand(["list", "--schedules", "test/fixtures/schedule/missing.yaml"], fromOption.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES })).toBe(1);
    expect(await scheduleCommand(["list"], fromEnv.io, { BRIDGE_SCHEDULES_FILE: "test/fixtures/schedule/missing.yaml" })).toBe(1);

    expect(fromOption.text.err).toContain("--schedules: cannot read test/fixtures/schedule/missing.yaml: ENOENT");
    expect(fromOption.text.err).not.toContain("BRIDGE_SCHEDULES_FILE");
    expect(fromEnv.text.err).toContain("BRIDGE_SCHEDULES_FILE: cannot read test/fixtures/schedule/missing.yaml: ENOENT");
  });

  it("rejects unknown names and missing settings", async () => {
    const unknown = capture();
    const noFile = capture();
    const noCredentials = capture();

    expect(await scheduleCommand(["run", "nope"], unknown.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES })).toBe(1);
    expect(await scheduleCommand(["run", "nightly-posture"], noFile.io, {})).toBe(2);
    expect(
      await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z"], noCredentials.io, {
        BRIDGE_MODE: "direct",
        BRIDGE_SCHEDULES_FILE: SCHEDULES,
        // A folder without a local bridge, whose emulator the command would use.
        BRIDGE_DATA_DIR: "test/fixtures/schedule",
      }),
    ).toBe(2);

    expect(unknown.text.err).toMatch(/^BRIDGE\.SCHEDULE_UNKNOWN: unknown schedule "nope"; declared schedules: nightly-posture, hourly-sweep, paused\n/);
    expect(noFile.text.err).toBe(
      "name the schedules file with --schedules FILE or BRIDGE_SCHEDULES_FILE (no npm start with a schedules file runs on .data, set by --data-dir or BRIDGE_DATA_DIR)\n",
    );
    expect(noCredentials.text.err).toBe(
      "set SECMASTER_AK and SECMASTER_SK (or SECMASTER_AUTH_TOKEN) to start the instance, run npm start on the data folder to use its emulator, or pass --dry-run\n",
    );
  });

  it("rejects an invalid time", async () => {
    const { io, text } = capture();

    expect(await scheduleCommand(["run", "nightly-posture", "--at", "tomorrow", "--dry-run"], io, { BRIDGE_SCHEDULES_FILE: SCHEDULES })).toBe(1);
    expect(text.err).toMatch(/^BRIDGE\.TIME_INVALID: /);
  });
});

describe("schedule run in queue mode", () => {
  const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs";
  const MISSING_QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/missing";
  // The CLI signs with the AWS SDK's credential chain, which reads the keys from process.env.
  const aws = useSqsStandin([QUEUE_URL]);
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-schedule-"));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("enqueues the job in the local queue", async () => {
    const run = capture();

    const code = await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z", "--data-dir", dataDir], run.io, {
      BRIDGE_SCHEDULES_FILE: SCHEDULES,
    });

    expect(run.text.err).toMatch(/^warning: no local bridge runs on the data folder /);
    expect(code).toBe(0);
    expect(run.text.out).toBe(
      "queued 41440672-9265-5de0-b13c-cc19da30fc68 (schedule nightly-posture at 2026-01-15T18:00:00.000Z, " +
        `workflow 00000000-0000-4000-8000-00000000f001) in ${join(dataDir, "queue", "jobs")}; dispatch starts it\n`,
    );
    const messages = await openLocalQueues(dataDir, 5).queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
    expect(messages).toHaveLength(1);
    const envelope = decodeEnvelope(messages[0]!.body);
    expect(envelope.job.actionInstanceId).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(envelope.job.source).toBe("schedule");
    expect(envelope.priorAttempts).toBe(0);
  });

  it("sends the job to BRIDGE_QUEUE_URL", async () => {
    const run = capture();

    const code = await scheduleCommand(["run", "hourly-sweep", "--at", "2026-01-15T19:00:00Z"], run.io, {
      ...aws.standin.env(),
      BRIDGE_SCHEDULES_FILE: SCHEDULES,
      BRIDGE_MODE: "queue",
      BRIDGE_QUEUE_URL: QUEUE_URL,
    });

    expect(run.text.err).toBe("");
    expect(code).toBe(0);
    expect(run.text.out).toMatch(/^queued 9c80b861-8fec-5d32-a85f-aac885d6e54d \(schedule hourly-sweep at 2026-01-15T19:00:00\.000Z, workflow aaaaaaaa-0000-4000-8000-000000000005\) in https:/);
    const inputs = aws.sqs.inputs("SendMessageBatch");
    expect(inputs).toHaveLength(1);
    expect(inputs[0]!.QueueUrl).toBe(QUEUE_URL);
    const entries = inputs[0]!.Entries as { MessageBody: string }[];
    expect(entries).toHaveLength(1);
    const job = decodeEnvelope(entries[0]!.MessageBody).job;
    expect(job.workspaceId).toBe("11111111-2222-4333-8444-555555555555");
    expect(job.workflowId).toBe("aaaaaaaa-0000-4000-8000-000000000005");
    expect(aws.sqs.messages(QUEUE_URL)).toHaveLength(1);
  });

  it("fails when the queue does not exist", async () => {
    const run = capture();

    const code = await scheduleCommand(["run", "nightly-posture", "--at", "2026-01-15T18:00:00Z", "--queue-url", MISSING_QUEUE_URL], run.io, {
      ...aws.standin.env(),
      BRIDGE_SCHEDULES_FILE: SCHEDULES,
    });

    expect(code).toBe(1);
    expect(run.text.out).toBe("");
    expect(run.text.err).toMatch(
      /^BRIDGE\.QUEUE_UNAVAILABLE: failed to enqueue the start job 41440672-9265-5de0-b13c-cc19da30fc68 for schedule nightly-posture at 2026-01-15T18:00:00\.000Z: /,
    );
    expect(run.text.err).toContain(`failed to call SQS SendMessageBatch on ${MISSING_QUEUE_URL}: QueueDoesNotExist (HTTP 400)`);
  });

  it("rejects --no-store and an unknown mode", async () => {
    const noStore = capture();
    const badMode = capture();

    expect(await scheduleCommand(["run", "nightly-posture", "--no-store", "--data-dir", dataDir], noStore.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES })).toBe(2);
    expect(await scheduleCommand(["run", "nightly-posture", "--data-dir", dataDir], badMode.io, { BRIDGE_SCHEDULES_FILE: SCHEDULES, BRIDGE_MODE: "sync" })).toBe(2);

    expect(noStore.text.err).toBe("--no-store applies only when this process starts the instance; add --direct or set BRIDGE_MODE=direct\n");
    expect(badMode.text.err).toBe('BRIDGE_MODE must be queue or direct, got "sync"\n');
    expect(await openLocalQueues(dataDir, 5).queue.approximateCount()).toBe(0);
  });
});
