import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redriveCommand } from "../../lib/cli/queue";
import type { StartJob } from "../../lib/delivery/job";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope, encodeEnvelope, newEnvelope, type JobEnvelope, type JobError } from "../../lib/delivery/queue";
import { SqsQueue } from "../../lib/delivery/sqs";
import { captureLogOutput } from "../helpers/log-capture";
import { useSqsStandin } from "../helpers/sqs-standin";
import { jobFor, PROJECT_ID } from "../delivery/harness";
import { ID_FOR_RIGHT, ID_FOR_WRONG, misroutedJob, RIGHT_WORKFLOW, WRONG_WORKFLOW } from "../delivery/misrouted";
import { captureCliOutput } from "../helpers/cli-output";

const MISSING: JobError = {
  code: "SecMaster.20030001",
  reason: "workflow does not exist",
  retryable: false,
  ambiguous: false,
  receiveCount: 1,
  failedAt: "2026-01-15T08:30:01.000Z",
};

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-cli-retarget-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function deadLetter(jobs: StartJob[]): Promise<void> {
  const { deadLetters } = openLocalQueues(dataDir, 5);
  await deadLetters.send(jobs.map((job, index) => ({ id: String(index), body: encodeEnvelope({ ...newEnvelope(job), lastError: MISSING }) })));
}

async function drain(which: "queue" | "deadLetters"): Promise<JobEnvelope[]> {
  const queues = openLocalQueues(dataDir, 5);
  const messages = await queues[which].receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
  return messages.map((message) => decodeEnvelope(message.body));
}

describe("redrive --workflow-id on the local queue", () => {
  it("moves a job under its derived id", async () => {
    await deadLetter([misroutedJob()]);
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--workflow-id", RIGHT_WORKFLOW], output.io, {});
    logs.restore();

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain(`re-targeted ${ID_FOR_WRONG} -> ${ID_FOR_RIGHT} (alertmanager/3f2a9c1d7e6b5a40, workflow ${WRONG_WORKFLOW} -> ${RIGHT_WORKFLOW})\n`);
    const [moved] = await drain("queue");
    expect(moved!.job).toMatchObject({ actionInstanceId: ID_FOR_RIGHT, workflowId: RIGHT_WORKFLOW });
    expect(moved!.lastError).toBeUndefined();
    expect(moved!.priorAttempts).toBe(1);
    expect(await drain("deadLetters")).toEqual([]);
    const line = logs.text().split("\n").find((entry) => entry.includes("dead-lettered job re-targeted"));
    expect(JSON.parse(line!)).toMatchObject({ oldActionInstanceId: ID_FOR_WRONG, newActionInstanceId: ID_FOR_RIGHT, oldWorkflowId: WRONG_WORKFLOW, newWorkflowId: RIGHT_WORKFLOW });
    expect(line).not.toContain("Test alert 7");
  });

  it("keeps a job without identity", async () => {
    await deadLetter([misroutedJob(), jobFor(1, { workflowId: WRONG_WORKFLOW })]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--workflow-id", RIGHT_WORKFLOW], output.io, {});

    expect(exitCode).toBe(1);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain("not re-targetable, left in the dead-letter queue: 1 job;");
    expect(output.out()).toContain("replay the original deliveries: secmaster-bridge replay --source SOURCE FILE");
    expect((await drain("queue")).map((envelope) => envelope.job.actionInstanceId)).toEqual([ID_FOR_RIGHT]);
    const left = await drain("deadLetters");
    expect(left.map((envelope) => [envelope.job.actionInstanceId, envelope.job.workflowId, envelope.lastError?.code])).toEqual([
      ["5f0c1a2b-0000-4000-8000-000000000001", WRONG_WORKFLOW, "SecMaster.20030001"],
    ]);
  });

  it("filters jobs by --from-workflow", async () => {
    const elsewhere = jobFor(2, { workflowId: "00000000-0000-4000-8000-0000000000f3" });
    await deadLetter([misroutedJob(), elsewhere]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--workflow-id", RIGHT_WORKFLOW, "--from-workflow", WRONG_WORKFLOW], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("moved 1 dead-lettered job back to");
    expect(output.out()).toContain(`targeting another workflow than ${WRONG_WORKFLOW}, left in the dead-letter queue: 1 job\n`);
    expect((await drain("queue")).map((envelope) => envelope.job.actionInstanceId)).toEqual([ID_FOR_RIGHT]);
    expect((await drain("deadLetters")).map((envelope) => envelope.job)).toEqual([elsewhere]);
  });

  it("dry run changes nothing", async () => {
    await deadLetter([misroutedJob(), jobFor(3)]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--dry-run", "--workflow-id", RIGHT_WORKFLOW, "--workspace-id", "00000000-0000-4000-8000-00000000a002"], output.io, {});

    expect(output.out()).toContain("2 dead-lettered jobs in");
    expect(output.out()).toContain("(dry run, nothing moved)");
    expect(output.out()).toContain(
      `would re-target ${ID_FOR_WRONG} -> ${ID_FOR_RIGHT} (alertmanager/3f2a9c1d7e6b5a40, workflow ${WRONG_WORKFLOW} -> ${RIGHT_WORKFLOW}, ` +
        "workspace 00000000-0000-4000-8000-00000000a001 -> 00000000-0000-4000-8000-00000000a002)\n",
    );
    expect(output.out()).toContain("not re-targetable, left in the dead-letter queue: 1 job;");
    expect(exitCode).toBe(1);
    expect(await drain("queue")).toEqual([]);
    const left = await drain("deadLetters");
    expect(left.map((envelope) => envelope.job).sort((a, b) => a.alertKey.localeCompare(b.alertKey))).toEqual([misroutedJob(), jobFor(3)]);
  });

  it("dry run lists copies of a job once", async () => {
    await deadLetter([misroutedJob(), misroutedJob(), misroutedJob()]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--dry-run", "--workflow-id", RIGHT_WORKFLOW], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("3 dead-lettered jobs in");
    const lines = output.out().split("\n").filter((line) => line.startsWith("would re-target"));
    expect(lines).toEqual([
      `would re-target ${ID_FOR_WRONG} -> ${ID_FOR_RIGHT} (alertmanager/3f2a9c1d7e6b5a40, workflow ${WRONG_WORKFLOW} -> ${RIGHT_WORKFLOW}), 3 copies of the job`,
    ]);
  });

  it("dry run shows a changed project", async () => {
    await deadLetter([misroutedJob()]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--data-dir", dataDir, "--dry-run", "--workflow-id", RIGHT_WORKFLOW, "--project-id", "0123456789abcdef0123456789abe002"], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain(`workflow ${WRONG_WORKFLOW} -> ${RIGHT_WORKFLOW}, project ${PROJECT_ID} -> 0123456789abcdef0123456789abe002)\n`);
  });

  it("rejects invalid re-targeting options", async () => {
    const badId = captureCliOutput();
    const noWorkflow = captureCliOutput();

    expect(await redriveCommand(["--data-dir", dataDir, "--workflow-id", "f001/../x"], badId.io, {})).toBe(2);
    expect(await redriveCommand(["--data-dir", dataDir, "--from-workflow", WRONG_WORKFLOW], noWorkflow.io, {})).toBe(2);

    expect(badId.err()).toBe(`--workflow-id must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.', got "f001/../x"\n`);
    expect(noWorkflow.err()).toBe("--from-workflow needs --workflow-id, the workflow the jobs go to\n");
  });
});

describe("redrive --workflow-id on SQS", () => {
  const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs";
  const DLQ_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/dead-letters";
  // The CLI signs with the AWS SDK's credential chain, which reads the keys from process.env.
  const aws = useSqsStandin([QUEUE_URL, DLQ_URL]);

  it("moves a re-targeted job between SQS queues", async () => {
    const body = encodeEnvelope({ ...newEnvelope(misroutedJob()), lastError: MISSING });
    await new SqsQueue({ queueUrl: DLQ_URL }).send([{ id: "dead-1", body }]);
    const output = captureCliOutput();

    const exitCode = await redriveCommand(["--workflow-id", RIGHT_WORKFLOW], output.io, { ...aws.standin.env(), BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_DLQ_URL: DLQ_URL });

    expect(exitCode).toBe(0);
    const [sent] = aws.sqs.inputs("SendMessageBatch").filter((input) => input.QueueUrl === QUEUE_URL);
    const entries = sent!.Entries as { MessageBody: string }[];
    expect(decodeEnvelope(entries[0]!.MessageBody).job).toMatchObject({ actionInstanceId: ID_FOR_RIGHT, workflowId: RIGHT_WORKFLOW });
    expect(aws.sqs.inputs("DeleteMessageBatch")[0]).toEqual({ QueueUrl: DLQ_URL, Entries: [{ Id: "d0", ReceiptHandle: "rh-000000000001-1" }] });
    expect(aws.sqs.messages(DLQ_URL)).toEqual([]);
    expect(aws.sqs.messages(QUEUE_URL)).toHaveLength(1);
  });
});
