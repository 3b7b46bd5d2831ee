import { BridgeError } from "../errors";
import type { AlertResult } from "../ingest";
import { logger } from "../logger";
import { countMetric, METRIC } from "../metrics";
import { describeStartFailure } from "./failure";
import type { StartJob } from "./job";
import type { DeliveryOutcome, PermanentFailure } from "./outcome";
import { encodeJob, newEnvelope, type JobError, type MessageQueue } from "./queue";

/** A direct-mode start that threw, as recorded while the delivery ran. */
export interface FailedStart {
  job: StartJob;
  error: unknown;
}

/** Settings of {@link settleRejectedStarts}. */
export interface SettleOptions {
  /** Queue that keeps rejected jobs for `secmaster-bridge redrive`; undefined when none is configured. */
  deadLetters: MessageQueue | undefined;
  /** @default () => new Date() */
  now?: () => Date;
}

// Bounds the error kept with a dead letter, so that it fits in the room the queue budget leaves.
const MAX_REASON_CHARS = 1_000;

/**
 * Direct mode: sends each start that failed in a way a retry cannot fix (`retryable` false, such
 * as a SecMaster 4xx) to the dead-letter queue, in the envelope dispatch uses, with its last
 * error. Its result becomes `dead-lettered`, and `secmaster-bridge redrive` later moves it to the
 * jobs queue, where dispatch looks the instance up before posting it.
 *
 * A rejected start stays `failed` and is reported in `permanentFailures`, with the setting to
 * correct, when no dead-letter queue is configured or the job does not fit in one. A job the
 * dead-letter queue did not take stays `failed` as a transient failure, so the sender retries.
 * Retryable failures are left as they are.
 *
 * @param failures the failed starts of the delivery by `actionInstanceId`.
 */
export async function settleRejectedStarts(
  results: readonly AlertResult[],
  failures: ReadonlyMap<string, FailedStart>,
  options: SettleOptions,
): Promise<DeliveryOutcome> {
  const settled = [...results];
  const permanentFailures: PermanentFailure[] = [];
  const rejected = rejectedStarts(results, failures);
  if (rejected.length === 0) return { results: settled, permanentFailures };

  const { deadLetters } = options;
  const now = (options.now ?? (() => new Date()))();
  const sendOutcomes = deadLetters === undefined ? new Map<string, DeadLetterOutcome>() : await sendDeadLetters(deadLetters, rejected, now);

  for (const { index, start } of rejected) {
    const result = settled[index]!;
    const { job } = start;
    const ids = { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source, alertKey: job.alertKey.slice(0, 200) };
    const outcome = sendOutcomes.get(job.actionInstanceId);
    if (outcome?.status === "sent") {
      settled[index] = { ...result, status: "dead-lettered", reason: `${result.reason ?? "start rejected"}; kept in the dead-letter queue for secmaster-bridge redrive` };
      continue;
    }
    if (outcome?.status === "send-failed") {
      settled[index] = { ...result, reason: `${result.reason ?? "start rejected"}; failed to send it to the dead-letter queue: ${outcome.reason}` };
      continue;
    }

    const advice = rejectionAdvice(result.code ?? "", job);
    const notKept = outcome?.status === "too-large" ? `the job does not fit in the dead-letter queue: ${outcome.reason}` : "no dead-letter queue is configured";
    const fix =
      outcome?.status === "too-large"
        ? `${advice.fix}, then send the delivery again`
        : `${advice.fix}, then send the delivery again; set BRIDGE_DLQ_URL to keep such alerts for secmaster-bridge redrive instead`;
    logger.error("start rejected and not kept in a dead-letter queue; retries of this delivery fail until the cause is fixed", { ...ids, code: result.code, reason: notKept, fix });
    settled[index] = { ...result, reason: `${result.reason ?? "start rejected"}; ${notKept}` };
    permanentFailures.push({ result: settled[index], field: advice.field, fix });
  }
  return { results: settled, permanentFailures };
}

/**
 * Returns the setting behind a start that SecMaster rejected, by its error code, and how to
 * correct it. The codes are those the SecMaster API reference lists for CreateWorkflowInstance.
 */
export function rejectionAdvice(code: string, job: Pick<StartJob, "projectId" | "workspaceId" | "workflowId">): { field: string; fix: string } {
  switch (code) {
    case "SecMaster.20030001":
    case "SecMaster.20041002":
      return {
        field: "workflow_id",
        fix: `check that workflow ${job.workflowId} exists and is enabled in SecMaster workspace ${job.workspaceId}, and correct the workflow id of the routing rule that chose it or SECMASTER_WORKFLOW_ID`,
      };
    case "SecMaster.20010001":
    case "SecMaster.20041001":
      return { field: "workspace_id", fix: `correct workspace id ${job.workspaceId} in the routing rule that chose it or SECMASTER_WORKSPACE_ID` };
    case "SecMaster.20030002":
    case "SecMaster.20041003":
      return { field: "project_id", fix: `correct project id ${job.projectId} in the routing rule that chose it or SECMASTER_PROJECT_ID` };
    case "SecMaster.20030025":
      return { field: "content", fix: "check that the workflow's data class matches SECMASTER_DATACLASS_NAME and read the reason SecMaster gave" };
    case "APIG.0301":
      return { field: "(credentials)", fix: "correct SECMASTER_AK and SECMASTER_SK, or SECMASTER_AUTH_TOKEN" };
    default:
      return { field: "(start)", fix: "correct the cause named in the result's reason" };
  }
}

type DeadLetterOutcome = { status: "sent" } | { status: "send-failed"; reason: string } | { status: "too-large"; reason: string };

interface RejectedStart {
  /** Index of the result in the delivery's results. */
  index: number;
  start: FailedStart;
}

function rejectedStarts(results: readonly AlertResult[], failures: ReadonlyMap<string, FailedStart>): RejectedStart[] {
  const rejected: RejectedStart[] = [];
  for (const [index, result] of results.entries()) {
    if (result.status !== "failed") continue;
    const start = failures.get(result.action_instance_id);
    if (start !== undefined && !describeStartFailure(start.error).retryable) rejected.push({ index, start });
  }
  return rejected;
}

/** Sends one dead letter per job (a delivery may name the same alert twice) and reports each by job id. */
async function sendDeadLetters(deadLetters: MessageQueue, rejected: readonly RejectedStart[], now: Date): Promise<Map<string, DeadLetterOutcome>> {
  const outcomes = new Map<string, DeadLetterOutcome>();
  const jobs = new Map<string, StartJob>();
  const messages: { id: string; body: string }[] = [];
  for (const { start } of rejected) {
    const { job } = start;
    if (jobs.has(job.actionInstanceId)) continue;
    jobs.set(job.actionInstanceId, job);
    const lastError = lastErrorOf(start.error, now);
    const encoded = encodeJob(job, (fitted) => ({ ...newEnvelope(fitted), lastError, deadLetteredAt: now.toISOString() }));
    if (encoded.ok) messages.push({ id: job.actionInstanceId, body: encoded.body });
    else outcomes.set(job.actionInstanceId, { status: "too-large", reason: encoded.error.message });
  }
  if (messages.length === 0) return outcomes;

  const sent = new Map((await deadLetters.send(messages)).map((result) => [result.id, result]));
  for (const message of messages) {
    const result = sent.get(message.id);
    const job = jobs.get(message.id)!;
    const ids = { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source, deadLetterQueue: deadLetters.name };
    if (result?.ok === true) {
      countMetric(METRIC.startFailures);
      countMetric(METRIC.deadLettered);
      logger.error("job moved to the dead-letter queue", { ...ids, reason: "SecMaster rejected the start; run secmaster-bridge redrive after fixing the cause" });
      outcomes.set(message.id, { status: "sent" });
      continue;
    }
    const reason = result?.ok === false ? result.error.message : "the queue returned no result for it";
    logger.error("failed to send a job to the dead-letter queue; the sender's retry will try again", { ...ids, reason });
    outcomes.set(message.id, { status: "send-failed", reason });
  }
  return outcomes;
}

// Receive count 1 records the single direct attempt. Redrive adds it to priorAttempts, so
// dispatch looks the instance up before posting it again.
function lastErrorOf(error: unknown, now: Date): JobError {
  const failure = describeStartFailure(error);
  const reason = error instanceof BridgeError ? error.message : failure.reason;
  return {
    code: failure.code,
    reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason,
    retryable: false,
    ambiguous: failure.ambiguous,
    receiveCount: 1,
    failedAt: now.toISOString(),
  };
}
