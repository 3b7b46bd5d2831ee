import { logger } from "../logger";
import { retargetJob, type JobTarget } from "./job";
import { decodeEnvelope, encodeEnvelope, type JobEnvelope, type MessageQueue, type ReceivedMessage } from "./queue";

/** Settings of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  /** The dead-letter queue. */
  from: MessageQueue;
  /** The jobs queue that dispatch reads. */
  to: MessageQueue;
  /** Count and summarize the dead letters without moving any. */
  dryRun?: boolean;
  /** Move at most this many jobs. */
  limit?: number;
  /**
   * How long a dead letter stays hidden while it is being moved or counted, in milliseconds. A
   * job whose move failed is visible in the dead-letter queue again after it.
   * @default 60000
   */
  visibilityTimeoutMs?: number;
  /**
   * Points each moved job at this workflow (and workspace and project, when given), with the
   * `actionInstanceId` the bridge derives for its alert episode and the new workflow. Jobs
   * without an identity stay in the dead-letter queue.
   */
  retarget?: RedriveTarget;
  /** Called after each batch with the jobs handled so far and the count found at the start. */
  onProgress?: (done: number, total: number) => void;
}

/** The new target of a re-targeting redrive. */
export interface RedriveTarget extends JobTarget {
  /** Workflow whose jobs alone are re-targeted and moved. The others stay in the dead-letter queue. */
  fromWorkflowId?: string | undefined;
}

/** One job a redrive re-targeted, or would re-target in a dry run. */
export interface RetargetedJob {
  source: string;
  alertKey: string;
  oldActionInstanceId: string;
  newActionInstanceId: string;
  oldWorkflowId: string;
  newWorkflowId: string;
  oldWorkspaceId: string;
  newWorkspaceId: string;
}

/** Counts of one redrive. */
export interface RedriveReport {
  /** Dead letters counted at the start (an estimate for SQS). */
  total: number;
  /** Jobs sent back to the jobs queue and deleted from the dead-letter queue; 0 in a dry run. */
  moved: number;
  /** Jobs that could not be sent back; they stay in the dead-letter queue. */
  failed: number;
  /** Messages that are not jobs (an invalid body dispatch dead-lettered); they stay where they are. */
  invalid: number;
  /** Dead letters seen, by the code of their last error. */
  byErrorCode: Record<string, number>;
  /** Jobs whose target changed (or would change in a dry run), in the order they were seen. */
  retargeted: RetargetedJob[];
  /** Jobs left in the dead-letter queue because they target another workflow than `fromWorkflowId`. */
  otherWorkflow: number;
  /**
   * Jobs left in the dead-letter queue because they cannot be re-targeted: queued by a version
   * that kept no alert identity in the job, or with an identity that does not give their id.
   */
  withoutIdentity: number;
}

/**
 * Moves dead-lettered jobs back to the jobs queue, or counts them in a dry run. Each job goes back
 * with `priorAttempts` raised, so dispatch looks its instance up before posting (its last attempt
 * may have created it), and without its old error. A job is deleted from the dead-letter queue
 * only after the jobs queue accepted it, so a crash in between duplicates it rather than losing it.
 * With `retarget`, each moved job first gets the new target and the id derived for it. Jobs that
 * do not match `fromWorkflowId` or carry no identity stay in the dead-letter queue.
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveReport> {
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 60_000;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const report: RedriveReport = { total: await options.from.approximateCount(), moved: 0, failed: 0, invalid: 0, byErrorCode: {}, retargeted: [], otherWorkflow: 0, withoutIdentity: 0 };
  const seen: ReceivedMessage[] = [];
  // Messages that stay in the dead-letter queue: not jobs, another workflow, or not re-targetable.
  const keptInDeadLetters: ReceivedMessage[] = [];
  let emptyReceives = 0;

  // SQS may return nothing from a receive while messages remain, so the loop stops after two empty receives in a row.
  while (report.moved + report.failed + report.invalid < limit && emptyReceives < 2) {
    const batch = await options.from.receive({
      maxMessages: Math.min(10, limit - (report.moved + report.failed + report.invalid)),
      visibilityTimeoutMs,
      waitTimeMs: 1_000,
    });
    if (batch.length === 0) {
      emptyReceives += 1;
      continue;
    }
    emptyReceives = 0;
    seen.push(...batch);

    const sendable: { message: ReceivedMessage; body: string; change: RetargetedJob | undefined }[] = [];
    for (const message of batch) {
      const envelope = tryDecode(message.body);
      const code = envelope?.lastError?.code ?? (envelope === undefined ? "BRIDGE.JOB_INVALID" : "(none)");
      report.byErrorCode[code] = (report.byErrorCode[code] ?? 0) + 1;
      if (envelope === undefined) {
        report.invalid += 1;
        keptInDeadLetters.push(message);
        continue;
      }
      const planned = planMove(envelope, options.retarget, report);
      if (planned === undefined) {
        keptInDeadLetters.push(message);
        continue;
      }
      if (planned.change !== undefined && options.dryRun === true) report.retargeted.push(planned.change);
      if (options.dryRun !== true) sendable.push({ message, body: encodeEnvelope(redriven(planned.envelope)), change: planned.change });
    }
    if (options.dryRun === true) {
      options.onProgress?.(seen.length, report.total);
      continue;
    }

    const results = await options.to.send(sendable.map(({ message, body }) => ({ id: message.messageId, body })));
    const sent = new Set(results.filter((result) => result.ok).map((result) => result.id));
    const handles = sendable.filter(({ message }) => sent.has(message.messageId)).map(({ message }) => message.receiptHandle);
    const notDeleted = await options.from.delete(handles);
    if (notDeleted.length > 0) {
      // The jobs are already back in the jobs queue; a second copy is harmless because starts are idempotent.
      logger.warn("failed to delete redriven jobs from the dead-letter queue; they will be redriven again", { jobs: notDeleted.length });
    }
    for (const { message, change } of sendable) {
      if (change === undefined || !sent.has(message.messageId)) continue;
      report.retargeted.push(change);
      logger.info("dead-lettered job re-targeted", { ...change });
    }
    for (const result of results) {
      if (result.ok) continue;
      logger.error("failed to send a dead-lettered job back to the jobs queue", { messageId: result.id, code: result.error.code, reason: result.error.message });
    }
    report.moved += sent.size;
    report.failed += results.length - sent.size;
    options.onProgress?.(report.moved + report.failed + report.invalid, report.total);
  }

  const keep = options.dryRun === true ? seen : keptInDeadLetters;
  if (keep.length > 0) {
    // Make what was only counted visible again at once instead of after the visibility timeout.
    await options.from.changeVisibility(keep.map((message) => ({ receiptHandle: message.receiptHandle, visibilityTimeoutMs: 0 })));
  }
  return report;
}

/**
 * Decides what happens to one dead-lettered job: moved as it is, moved re-targeted (with the
 * change to report), or kept in the dead-letter queue (undefined, counted in `report`).
 */
function planMove(envelope: JobEnvelope, target: RedriveTarget | undefined, report: RedriveReport): { envelope: JobEnvelope; change: RetargetedJob | undefined } | undefined {
  if (target === undefined) return { envelope, change: undefined };
  const job = envelope.job;
  if (target.fromWorkflowId !== undefined && job.workflowId !== target.fromWorkflowId) {
    report.otherWorkflow += 1;
    return undefined;
  }
  const result = retargetJob(job, target);
  if (!result.ok) {
    report.withoutIdentity += 1;
    logger.warn("dead-lettered job cannot be re-targeted; it stays in the dead-letter queue", {
      actionInstanceId: job.actionInstanceId,
      workflowId: job.workflowId,
      source: job.source,
      reason: result.reason,
    });
    return undefined;
  }
  const next = result.job;
  const unchanged = next.actionInstanceId === job.actionInstanceId && next.workspaceId === job.workspaceId && next.projectId === job.projectId;
  const change: RetargetedJob | undefined = unchanged
    ? undefined
    : {
        source: job.source,
        alertKey: job.alertKey.slice(0, 200),
        oldActionInstanceId: job.actionInstanceId,
        newActionInstanceId: next.actionInstanceId,
        oldWorkflowId: job.workflowId,
        newWorkflowId: next.workflowId,
        oldWorkspaceId: job.workspaceId,
        newWorkspaceId: next.workspaceId,
      };
  return { envelope: { ...envelope, job: next }, change };
}

function tryDecode(body: string): JobEnvelope | undefined {
  try {
    return decodeEnvelope(body);
  } catch {
    return undefined;
  }
}

// The job goes back as a fresh message whose earlier attempts make dispatch look before posting.
function redriven(envelope: JobEnvelope): JobEnvelope {
  const attempts = envelope.priorAttempts + Math.max(1, envelope.lastError?.receiveCount ?? 1);
  return { kind: envelope.kind, version: envelope.version, job: envelope.job, priorAttempts: attempts };
}
