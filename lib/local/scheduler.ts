import type { Context } from "aws-lambda";
import { createScheduleHandler } from "../../functions/schedule";
import type { BridgeConfig } from "../config";
import type { MessageQueue } from "../delivery/queue";
import { failedInvocationRecord } from "../delivery/redrive";
import type { IngestRuntime } from "../ingest-runtime";
import { logger } from "../logger";
import { nextScheduledTime } from "../schedule/expression";
import { readSchedulesFile, type Schedule } from "../schedule/load";
import type { ScheduledRunResult } from "../schedule/trigger";
import { inInvocationScope } from "./invocation-scope";

/**
 * Starts firing the schedules of `BRIDGE_SCHEDULES_FILE` through the schedule function's handler,
 * or returns undefined when the setting is absent. In queue mode each run goes to the runtime's
 * jobs queue, which the local dispatcher reads. In direct mode the handler starts the instance
 * through `runtime.starter`.
 *
 * A failed run goes to the runtime's dead-letter queue as the record of Lambda's on-failure
 * destination, for `secmaster-bridge redrive --schedules FILE`.
 *
 * @param now The clock, for tests. @default () => new Date()
 * @throws ConfigError when the schedules file is unreadable or invalid.
 */
export function startLocalSchedules(config: BridgeConfig, runtime: IngestRuntime, now?: () => Date): LocalScheduler | undefined {
  if (config.schedulesFile === undefined) return undefined;
  const schedules = readSchedulesFile(config.schedulesFile);
  const handler = createScheduleHandler(() => ({ runtime, schedules }));
  const { deadLetters } = runtime;
  const scheduler = new LocalScheduler({
    schedules,
    fire: (event, context) => handler(event, context),
    ...(now === undefined ? {} : { now }),
    ...(deadLetters === undefined ? {} : { onFailure: (event, error) => sendFailureRecord(deadLetters, event, error) }),
  });
  scheduler.start();
  logger.info("local schedules started", {
    schedulesFile: config.schedulesFile,
    mode: config.delivery.mode,
    schedules: schedules.map((schedule) => `${schedule.name} ${schedule.expression.text}${schedule.enabled ? "" : " (disabled)"}`),
  });
  return scheduler;
}

/** The event the local scheduler passes to the schedule handler, as the EventBridge rule would. */
export interface LocalScheduledEvent {
  schedule: string;
  time: string;
  event_id: string;
}

/** Settings of a {@link LocalScheduler}. */
export interface LocalSchedulerOptions {
  schedules: readonly Schedule[];
  /** Runs the schedule handler on one event. */
  fire: (event: LocalScheduledEvent, context: Context) => Promise<ScheduledRunResult>;
  /**
   * Keeps a failed run, as the schedule function's on-failure destination does on AWS. Without
   * it, a failed run is only logged.
   */
  onFailure?: (event: LocalScheduledEvent, error: unknown) => Promise<void>;
  /** @default () => new Date() */
  now?: () => Date;
  /**
   * Maximum wait between two checks, so that a clock change or a suspended laptop delays a run
   * by at most this long.
   * @default 60000
   */
  maxSleepMs?: number;
}

/**
 * Fires the enabled schedules of a local bridge at their scheduled times, in UTC, as the
 * EventBridge rules would in AWS. Times that passed before {@link LocalScheduler.start} are not
 * caught up. A failed run (in queue mode, a job the queue did not take) is logged and not
 * retried, where Lambda would retry it twice, and then passed to `onFailure`.
 */
export class LocalScheduler {
  readonly #options: LocalSchedulerOptions;
  readonly #now: () => Date;
  #checkedUntil: Date | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: LocalSchedulerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** Starts firing schedules due after now. */
  start(): void {
    this.#checkedUntil = this.#now();
    this.#stopped = false;
    this.#arm();
  }

  /**
   * Fires every enabled schedule time after the previous check and at or before `now`, one
   * after another in time order, and returns their results. Failed runs are logged and left out.
   */
  async runDue(now: Date = this.#now()): Promise<ScheduledRunResult[]> {
    const since = this.#checkedUntil ?? now;
    this.#checkedUntil = now;
    const due: { schedule: Schedule; time: Date }[] = [];
    for (const schedule of this.#options.schedules) {
      if (!schedule.enabled) continue;
      for (let time = nextScheduledTime(schedule.expression, since); time !== undefined && time <= now; time = nextScheduledTime(schedule.expression, time)) {
        due.push({ schedule, time });
      }
    }
    due.sort((left, right) => left.time.getTime() - right.time.getTime());

    const results: ScheduledRunResult[] = [];
    for (const { schedule, time } of due) {
      const iso = time.toISOString();
      const event = { schedule: schedule.name, time: iso, event_id: `local-${schedule.name}-${iso}` };
      try {
        results.push(await inInvocationScope(() => this.#options.fire(event, localContext(event.event_id))));
      } catch (error) {
        logger.error("local scheduled run failed", { schedule: schedule.name, scheduledTime: iso, error: error as Error });
        await this.#keepFailure(event, error);
      }
    }
    return results;
  }

  async #keepFailure(event: LocalScheduledEvent, error: unknown): Promise<void> {
    if (this.#options.onFailure === undefined) return;
    try {
      await this.#options.onFailure(event, error);
    } catch (failure) {
      logger.error("failed to keep a failed scheduled run", { schedule: event.schedule, scheduledTime: event.time, error: failure as Error });
    }
  }

  /** Stops the timer and waits for a run in progress. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    const now = this.#now();
    const next = this.#options.schedules
      .filter((schedule) => schedule.enabled)
      .map((schedule) => nextScheduledTime(schedule.expression, this.#checkedUntil ?? now)?.getTime())
      .filter((time): time is number => time !== undefined)
      .reduce((earliest, time) => Math.min(earliest, time), Number.POSITIVE_INFINITY);
    if (next === Number.POSITIVE_INFINITY) return;

    const delayMs = Math.max(0, Math.min(next - now.getTime(), this.#options.maxSleepMs ?? 60_000));
    this.#timer = setTimeout(() => {
      this.#running = this.runDue().finally(() => this.#arm());
    }, delayMs);
    this.#timer.unref();
  }
}

// The local schedule function's ARN, in its context and in the records of its failed runs.
const LOCAL_FUNCTION_ARN = "arn:aws:lambda:local:000000000000:function:secmaster-bridge-local-schedule";

// Writes the Lambda invocation record of a failed run to the local dead-letter queue, where
// `secmaster-bridge redrive --schedules FILE` finds it as it would on AWS.
async function sendFailureRecord(deadLetters: MessageQueue, event: LocalScheduledEvent, error: unknown): Promise<void> {
  const [result] = await deadLetters.send([{ id: event.event_id, body: failedInvocationRecord(event, error, LOCAL_FUNCTION_ARN) }]);
  if (result === undefined) throw new Error("the dead-letter queue returned no result");
  if (!result.ok) throw result.error;
  logger.warn("failed scheduled run kept in the dead-letter queue for redrive --schedules", { schedule: event.schedule, scheduledTime: event.time, queue: deadLetters.name });
}

function localContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "secmaster-bridge-local-schedule",
    functionVersion: "$LATEST",
    invokedFunctionArn: LOCAL_FUNCTION_ARN,
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
