import { readFileSync } from "node:fs";
import { SEVERITIES, type Severity } from "../alert/schema";
import { AwsJsonClient, SQS } from "../aws/client";
import { sdkCredentialChain } from "../aws/sdk-credentials";
import { enqueueDelivery } from "../delivery/enqueue";
import { openLocalQueues } from "../delivery/local-queue";
import type { MessageQueue } from "../delivery/queue";
import type { StartJob } from "../delivery/job";
import { redriveDeadLetters, type FailedEvent, type FailedScheduledRun, type RedriveReport, type RedriveTarget } from "../delivery/redrive";
import { regionOfQueueUrl, SqsQueue, sqsEndpointFor } from "../delivery/sqs";
import { BridgeError, ConfigError, InvalidInputError } from "../errors";
import { planDelivery, type AlertResult } from "../ingest";
import type { RouteTable } from "../routing/compile";
import { readRoutingFile } from "../routing/load";
import { secMasterIdSchema } from "../routing/schema";
import { readLocalBridge } from "../local/data-dir";
import { readSchedulesFile } from "../schedule/load";
import { planScheduledEvent } from "../schedule/trigger";
import { lazily } from "../lazy";
import { adapterForAwsEvent } from "../sources/aws";
import { readsCefLines } from "../sources/generic";
import { findSource } from "../sources/index";
import type { SourceAdapter } from "../sources/types";
import { parseCommandArgs } from "./args";
import { ProgressBar } from "./progress";
import { cliSourceOptions, findCliSource, isRawCefText, parseDeliveryText } from "./sources";
import { checkLocalQueueFolder, localQueueDataDir } from "./local-bridge";
import { formatCount } from "./table";
import { reportCliError } from "./errors";
import { defaultTargetFromEnv, type CliIo } from "./routes";

type Env = Readonly<Record<string, string | undefined>>;

export const REDRIVE_USAGE = `  redrive                          Move dead-lettered jobs back to the jobs queue, where dispatch
                                   looks each instance up before posting it again.
      --dry-run                    Only count the dead letters, by the code of their last error.
      --limit N                    Handle at most N dead-letter messages (a failed event's
                                   record counts as one, whatever its count of jobs).
      --queue-url URL, --dlq-url URL
                                   SQS jobs queue and dead-letter queue (default: BRIDGE_QUEUE_URL
                                   and BRIDGE_DLQ_URL; without them, the local queue).
      --data-dir DIR               Folder of the local queue (default: BRIDGE_DATA_DIR or .data).
      --workflow-id ID             Re-target the moved jobs to this workflow, each with the
                                   action_instance_id the bridge derives for its alert and ID.
                                   Jobs queued by earlier versions carry no alert identity and stay.
      --workspace-id ID, --project-id ID
                                   With --workflow-id: also change the workspace or project.
      --from-workflow ID           With --workflow-id: re-target and move only the jobs that target
                                   workflow ID; the other jobs stay in the dead-letter queue.
                                   Failed scheduled runs and AWS events are planned anew and
                                   move as usual.
      --schedules FILE             Schedules file (default: BRIDGE_SCHEDULES_FILE). With it, the
                                   scheduled runs that Lambda gave up on move as start jobs with
                                   their own target and action_instance_id (never re-targeted);
                                   without it they are only listed. A run left in the dead-letter
                                   queue makes the exit code 1.
      --drop-unplannable           Delete the records that can never be planned: scheduled runs of
                                   a schedule the file no longer declares or has disabled, and
                                   AWS events that no adapter reads or that fail their schema.
      --routes FILE                Routing file that plans the start jobs of AWS events the events
                                   function failed on; use the file the stack deployed (default:
                                   BRIDGE_ROUTES_FILE). Such an event moves as one job per alert
                                   and workflow; a kept one makes the exit code 1.
      --default-target             Plan failed AWS events without a routing file: every firing
                                   alert goes to the SECMASTER_* default target. Without --routes,
                                   BRIDGE_ROUTES_FILE or this option, failed events stay.`;

export const REPLAY_USAGE = `  replay --source SOURCE FILE      Enqueue saved deliveries again through parse, normalize and
                                   routing. FILE holds one JSON delivery, or one per line (JSON Lines),
                                   or raw CEF lines of a cef source, read as one delivery.
      --routes FILE                Routing file (default: BRIDGE_ROUTES_FILE; without one, the
                                   SECMASTER_* default target).
      --mapping FILE               Mapping file of a generic JSON source, repeatable (default: the
                                   files of BRIDGE_GENERIC_MAPPINGS).
      --queue-url URL              SQS jobs queue (default: BRIDGE_QUEUE_URL; without it, the local queue).
      --data-dir DIR               Folder of the local queue (default: BRIDGE_DATA_DIR or .data).`;

/** Queues a command works on. */
interface Queues {
  queue: MessageQueue;
  deadLetters: MessageQueue | undefined;
  close(): void;
}

/** Runs `secmaster-bridge redrive` and returns the exit code: 0 when every job moved. */
export async function redriveCommand(args: string[], io: CliIo & { err: { isTTY?: boolean } }, env: Env = process.env): Promise<number> {
  const { values } = parseCommandArgs("redrive", {
    args,
    options: {
      "dry-run": { type: "boolean" },
      limit: { type: "string" },
      "queue-url": { type: "string" },
      "dlq-url": { type: "string" },
      "data-dir": { type: "string" },
      "workflow-id": { type: "string" },
      "workspace-id": { type: "string" },
      "project-id": { type: "string" },
      "from-workflow": { type: "string" },
      schedules: { type: "string" },
      "drop-unplannable": { type: "boolean" },
      routes: { type: "string" },
      "default-target": { type: "boolean" },
    },
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    io.err.write(`--limit must be a whole number greater than 0, got ${JSON.stringify(values.limit)}\n`);
    return 2;
  }
  const retarget = redriveTarget(values, io);
  if (retarget === null) return 2;

  return withErrors(io, async () => {
    const schedulesFile = values.schedules ?? nonEmpty(env.BRIDGE_SCHEDULES_FILE);
    const planScheduledRun = schedulesFile === undefined ? undefined : scheduledRunPlanner(schedulesFile, values, env);
    const planFailedEvent = failedEventPlanner(values, env);
    const localDir = localQueueDataDir(values, env);
    // A dry run moves nothing, so only a missing folder matters to it.
    if (localDir !== undefined) checkLocalQueueFolder(localDir, values["dry-run"] === true ? undefined : io.err);
    const queues = openQueues(values, env, true);
    try {
      const progress = new ProgressBar(io.err, values["dry-run"] === true ? "counting dead letters" : "redriving");
      const report = await redriveDeadLetters({
        from: queues.deadLetters!,
        to: queues.queue,
        dryRun: values["dry-run"] === true,
        ...(limit === undefined ? {} : { limit }),
        ...(retarget === undefined ? {} : { retarget }),
        ...(planScheduledRun === undefined ? {} : { planScheduledRun }),
        planFailedEvent,
        dropUnplannable: values["drop-unplannable"] === true,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();

      const codes = Object.entries(report.byErrorCode)
        .sort(([left], [right]) => left.localeCompare(right))
        .map(([code, count]) => `  ${code}: ${count}`);
      if (values["dry-run"] === true) {
        const seen = Object.values(report.byErrorCode).reduce((sum, count) => sum + count, 0);
        const runs = report.scheduledRuns.length;
        const events = report.failedEvents.length;
        const counts = listCounts(seen - runs - events, runs, events);
        io.out.write(`${counts} in ${queues.deadLetters!.name} (dry run, nothing moved)\n`);
      } else {
        const movedRuns = report.scheduledRuns.filter((run) => run.moved === true).length;
        const movedEvents = report.failedEvents.filter((event) => event.moved === true).length;
        const counts = listCounts(report.moved - movedRuns - movedEvents, movedRuns, movedEvents);
        io.out.write(`moved ${counts} back to ${queues.queue.name}\n`);
        if (report.failed > 0) io.out.write(`failed to send back, left in the dead-letter queue: ${formatCount(report.failed, "message")}\n`);
      }
      if (report.invalid > 0) io.out.write(`not jobs, left in the dead-letter queue: ${formatCount(report.invalid, "message")}\n`);
      const listing = { withSchedules: schedulesFile !== undefined, dryRun: values["dry-run"] === true, dropUnplannable: values["drop-unplannable"] === true };
      if (report.scheduledRuns.length > 0) writeScheduledRuns(report, listing, io);
      if (report.failedEvents.length > 0) writeFailedEvents(report, values["dry-run"] === true, values["drop-unplannable"] === true, io);
      if (retarget !== undefined) writeRetargeting(report, retarget, values["dry-run"] === true, io);
      if (codes.length > 0) io.out.write(`by last error:\n${codes.join("\n")}\n`);
      const runsStay = report.scheduledRuns.some((run) => staysAfter(run, listing));
      const eventsStay = report.failedEvents.some((event) => eventStaysAfter(event, listing));
      return report.failed > 0 || report.withoutIdentity > 0 || runsStay || eventsStay ? 1 : 0;
    } finally {
      queues.close();
    }
  });
}

/**
 * Plans the start jobs of failed scheduled runs from the schedules file and the SECMASTER_* ids,
 * which must be the deployed bridge's when the jobs go to SQS. Both are read at the first record,
 * so that a redrive of other jobs never depends on them, and a problem with them keeps the runs.
 */
function scheduledRunPlanner(
  file: string,
  values: { schedules?: string | undefined; "queue-url"?: string | undefined; "data-dir"?: string | undefined },
  env: Env,
): (event: unknown) => StartJob {
  const settings = lazily(() => {
    requireDeployedIds(values, env, "a redrive of scheduled runs into SQS");
    // A problem with the file names the option or the variable it came from.
    const setting = values.schedules === undefined ? "BRIDGE_SCHEDULES_FILE" : "--schedules";
    return { schedules: readSchedulesFile(file, setting), target: defaultTargetFromEnv(env) };
  });
  return (event) => {
    const { schedules, target } = settings();
    return planScheduledEvent(event, schedules, target);
  };
}

/**
 * Plans the start jobs of failed AWS events as the events function does: the event's adapter,
 * the routing file (`--routes` or BRIDGE_ROUTES_FILE), BRIDGE_SOURCE_OPTIONS,
 * BRIDGE_DEFAULT_SEVERITY and the SECMASTER_* ids. The settings are read at the first record.
 */
function failedEventPlanner(
  values: { routes?: string | undefined; "default-target"?: boolean | undefined; "queue-url"?: string | undefined; "data-dir"?: string | undefined },
  env: Env,
): (event: unknown) => StartJob[] {
  const settings = lazily(() => {
    requireDeployedIds(values, env, "a redrive of failed AWS events into SQS");
    const severity = (nonEmpty(env.BRIDGE_DEFAULT_SEVERITY) ?? "Medium") as Severity;
    if (!(SEVERITIES as readonly string[]).includes(severity)) throw new ConfigError([`BRIDGE_DEFAULT_SEVERITY: must be one of ${SEVERITIES.join(", ")}`]);
    const target = defaultTargetFromEnv(env);
    const routesFile = values.routes ?? nonEmpty(env.BRIDGE_ROUTES_FILE);
    // The deployed events function always routes, so planning without the routing file would
    // start alerts on the default workflow under other ids, unless the user asks for that.
    if (routesFile === undefined && values["default-target"] !== true) throw new ConfigError([missingRoutingIssue(env)]);
    const routes = routesFile === undefined ? undefined : readRoutingFile(routesFile, target);
    return { severity, target, routes };
  });
  return (event) => {
    const { severity, target, routes } = settings();
    const match = adapterForAwsEvent(event);
    const adapter = match === undefined ? undefined : findSource(match.source);
    if (match === undefined || adapter === undefined) {
      throw new InvalidInputError("BRIDGE.EVENT_UNKNOWN", "event is not a GuardDuty, Security Hub or CloudWatch event or SNS notification");
    }
    const options = cliSourceOptions(adapter.id, undefined, {}, env);
    const plans = planDelivery({ adapter, body: match.payload, receivedAt: new Date(), options }, { target, routes, defaultSeverity: severity });
    return plans.filter((plan) => plan.skipReason === undefined).map((plan) => plan.job);
  };
}

// The problem of failed AWS events when the redrive names no routing file, with the way to name it.
function missingRoutingIssue(env: Env): string {
  const parameter = nonEmpty(env.BRIDGE_ROUTES_SSM_PARAMETER);
  if (parameter !== undefined) {
    return (
      `--routes: the stack reads its routing from the SSM parameter ${parameter}; save it to a file ` +
      `(aws ssm get-parameter --name ${parameter} --query Parameter.Value --output text > routes.yaml) and pass --routes routes.yaml`
    );
  }
  return "--routes: pass the routing file the stack deployed (or set BRIDGE_ROUTES_FILE), or --default-target to send every firing alert to the SECMASTER_* default target";
}

// "3 dead-lettered jobs", "3 dead-lettered jobs and 1 failed scheduled run", and so on.
function listCounts(jobs: number, runs: number, events: number): string {
  const parts = [formatCount(jobs, "dead-lettered job")];
  if (runs > 0) parts.push(formatCount(runs, "failed scheduled run"));
  if (events > 0) parts.push(formatCount(events, "failed AWS event"));
  const last = parts.pop()!;
  return parts.length === 0 ? last : `${parts.join(", ")} and ${last}`;
}

/** Lists the failed AWS events a redrive found, with what happened to each. */
function writeFailedEvents(report: RedriveReport, dryRun: boolean, dropUnplannable: boolean, io: CliIo): void {
  const events = report.failedEvents;
  io.out.write(`failed AWS events: ${events.length}\n`);
  for (const event of events.slice(0, SCHEDULED_RUN_LINES_SHOWN)) {
    io.out.write(`  ${event.event}: ${failedEventOutcome(event, dryRun, dropUnplannable)} (${event.reason})\n`);
  }
  if (events.length > SCHEDULED_RUN_LINES_SHOWN) io.out.write(`  … and ${events.length - SCHEDULED_RUN_LINES_SHOWN} more\n`);
  const keptEvents = events.filter((event) => event.problem !== undefined && event.dropped !== true);
  if (keptEvents.length === 0) return;
  const dropHint = !dropUnplannable && keptEvents.some((event) => event.droppable === true) ? "; --drop-unplannable deletes the events that can never be planned" : "";
  io.out.write(`to move the kept ones, fix the problem shown and redrive again${dropHint}\n`);
}

function failedEventOutcome(event: FailedEvent, dryRun: boolean, dropUnplannable: boolean): string {
  const jobs = formatCount(event.jobs ?? 0, "start job");
  if (event.dropped === true) return `deleted, ${event.problem}`;
  if (dryRun && dropUnplannable && event.droppable === true) return `would be deleted, ${event.problem}`;
  if (event.moved === true) return event.jobs === 0 ? "every alert skipped, record deleted" : `moved as ${jobs}`;
  if (event.jobs === 0 && dryRun) return "every alert skipped, the record would be deleted";
  if (event.jobs !== undefined) return dryRun ? `${jobs} planned` : "failed to send, kept in the dead-letter queue";
  return `kept in the dead-letter queue, ${event.problem ?? "not planned"}`;
}

/** Most failed scheduled runs listed one per line; the rest are counted. */
const SCHEDULED_RUN_LINES_SHOWN = 20;

/** Options of one redrive that decide how its failed scheduled runs are listed. */
interface ScheduledRunListing {
  withSchedules: boolean;
  dryRun: boolean;
  dropUnplannable: boolean;
}

/** Lists the failed scheduled runs a redrive found, with what to do about the kept ones. */
function writeScheduledRuns(report: RedriveReport, listing: ScheduledRunListing, io: CliIo): void {
  const runs = report.scheduledRuns;
  io.out.write(`failed scheduled runs: ${runs.length}\n`);
  for (const run of runs.slice(0, SCHEDULED_RUN_LINES_SHOWN)) {
    io.out.write(`  ${run.schedule} at ${run.time}: ${scheduledRunOutcome(run, listing)} (${run.reason})\n`);
  }
  if (runs.length > SCHEDULED_RUN_LINES_SHOWN) io.out.write(`  … and ${runs.length - SCHEDULED_RUN_LINES_SHOWN} more\n`);

  const remaining = runs.filter((run) => staysAfter(run, listing));
  if (remaining.length === 0) return;
  if (!listing.withSchedules) {
    const first = remaining[0]!;
    io.out.write(
      "to run the kept ones, redrive with --schedules FILE (or BRIDGE_SCHEDULES_FILE), " +
        `or run each one, for example: secmaster-bridge schedule run ${first.schedule} --at ${first.time}\n`,
    );
    return;
  }
  const dropHint = !listing.dropUnplannable && remaining.some((run) => run.droppable) ? "; --drop-unplannable deletes the runs of schedules the file no longer runs" : "";
  io.out.write(`to move the kept ones, fix the problem shown and redrive again${dropHint}\n`);
}

// Whether a failed event stays in the dead-letter queue after this redrive, or after the real one
// that a dry run previews.
function eventStaysAfter(event: FailedEvent, listing: ScheduledRunListing): boolean {
  if (event.moved === true || event.dropped === true) return false;
  if (!listing.dryRun) return true;
  return event.jobs === undefined && !(event.droppable === true && listing.dropUnplannable);
}

// Whether a run stays in the dead-letter queue after this redrive, or after the real one that a
// dry run previews.
function staysAfter(run: FailedScheduledRun, listing: ScheduledRunListing): boolean {
  if (run.moved === true || run.dropped === true) return false;
  if (!listing.dryRun) return true;
  return !run.planned && !(run.droppable && listing.dropUnplannable);
}

function scheduledRunOutcome(run: FailedScheduledRun, listing: ScheduledRunListing): string {
  if (run.moved === true) return "moved to the jobs queue";
  if (run.dropped === true) return `deleted, ${run.problem}`;
  if (run.planned) return listing.dryRun ? "start job planned" : "failed to send, kept in the dead-letter queue";
  if (listing.dryRun && listing.dropUnplannable && run.droppable) return `would be deleted, ${run.problem}`;
  if (run.problem === undefined) return "kept in the dead-letter queue";
  return `kept in the dead-letter queue, ${run.problem}`;
}

const RETARGET_OPTIONS = [
  ["workflow-id", "workflowId"],
  ["workspace-id", "workspaceId"],
  ["project-id", "projectId"],
  ["from-workflow", "fromWorkflowId"],
] as const;

/**
 * Reads the re-targeting options of `redrive`: undefined without them, null (after writing the
 * problems) when they are invalid. Ids get the same format check as the routing file's.
 */
function redriveTarget(values: Partial<Record<(typeof RETARGET_OPTIONS)[number][0], string>>, io: CliIo): RedriveTarget | undefined | null {
  const given = RETARGET_OPTIONS.filter(([option]) => values[option] !== undefined);
  if (given.length === 0) return undefined;
  const problems: string[] = [];
  if (values["workflow-id"] === undefined) problems.push(`--${given[0]![0]} needs --workflow-id, the workflow the jobs go to`);
  const target: Record<string, string> = {};
  for (const [option, key] of given) {
    const checked = secMasterIdSchema.safeParse(values[option]);
    if (checked.success) target[key] = checked.data;
    else problems.push(`--${option} ${checked.error.issues[0]!.message}, got ${JSON.stringify(values[option]!.slice(0, 140))}`);
  }
  if (problems.length > 0) {
    io.err.write(problems.map((problem) => `${problem}\n`).join(""));
    return null;
  }
  return target as unknown as RedriveTarget;
}

const RETARGET_LINES_SHOWN = 20;

/** Writes what a re-targeting redrive changed (or would change) and what it left behind. */
function writeRetargeting(report: RedriveReport, target: RedriveTarget, dryRun: boolean, io: CliIo): void {
  const verb = dryRun ? "would re-target" : "re-targeted";
  // A dead-letter queue may hold copies of one job, such as a job dead-lettered again after a
  // redrive. Each change is listed once, with the count of its copies.
  const copies = new Map<string, number>();
  for (const change of report.retargeted) {
    const workspace = change.oldWorkspaceId === change.newWorkspaceId ? "" : `, workspace ${change.oldWorkspaceId} -> ${change.newWorkspaceId}`;
    const project = change.oldProjectId === change.newProjectId ? "" : `, project ${change.oldProjectId} -> ${change.newProjectId}`;
    const line =
      `${verb} ${change.oldActionInstanceId} -> ${change.newActionInstanceId} ` +
      `(${change.source}/${change.alertKey}, workflow ${change.oldWorkflowId} -> ${change.newWorkflowId}${workspace}${project})`;
    copies.set(line, (copies.get(line) ?? 0) + 1);
  }
  for (const [line, count] of [...copies].slice(0, RETARGET_LINES_SHOWN)) {
    io.out.write(count === 1 ? `${line}\n` : `${line}, ${count} copies of the job\n`);
  }
  const hidden = copies.size - RETARGET_LINES_SHOWN;
  if (hidden > 0) io.out.write(`… and ${formatCount(hidden, "more job")}${dryRun ? "" : " (each is logged as dead-lettered job re-targeted)"}\n`);
  if (report.otherWorkflow > 0) {
    io.out.write(`targeting another workflow than ${target.fromWorkflowId}, left in the dead-letter queue: ${formatCount(report.otherWorkflow, "job")}\n`);
  }
  if (report.withoutIdentity > 0) {
    io.out.write(
      `not re-targetable, left in the dead-letter queue: ${formatCount(report.withoutIdentity, "job")}; ` +
        "they carry no alert identity (queued by an earlier version), so the id for the new workflow cannot be derived. " +
        "Fix the routing, then replay the original deliveries: secmaster-bridge replay --source SOURCE FILE\n",
    );
  }
}

/** Runs `secmaster-bridge replay` and returns the exit code: 0 when every alert was enqueued or skipped. */
export async function replayCommand(args: string[], io: CliIo & { err: { isTTY?: boolean } }, env: Env = process.env): Promise<number> {
  const { values, positionals } = parseCommandArgs("replay", {
    args,
    allowPositionals: true,
    options: {
      source: { type: "string" },
      routes: { type: "string" },
      mapping: { type: "string", multiple: true },
      "queue-url": { type: "string" },
      "data-dir": { type: "string" },
    },
  });
  const file = positionals[0];
  if (values.source === undefined || file === undefined || positionals.length > 1) {
    io.err.write("replay needs --source SOURCE and one FILE\n");
    return 2;
  }
  return withErrors(io, async () => {
    const localDir = localQueueDataDir(values, env);
    if (localDir !== undefined) env = withBridgePlanning(env, localDir, values, io.err);
    const severity = (nonEmpty(env.BRIDGE_DEFAULT_SEVERITY) ?? "Medium") as Severity;
    if (!(SEVERITIES as readonly string[]).includes(severity)) {
      io.err.write(`BRIDGE_DEFAULT_SEVERITY must be one of ${SEVERITIES.join(", ")}\n`);
      return 2;
    }
    const source = findCliSource(values.source!, values.mapping, env, io.err);
    if (source === undefined) return 2;
    const { adapter } = source;
    const options = cliSourceOptions(adapter.id, undefined, source.genericSources, env);
    const deliveries = readDeliveries(file, adapter);
    requireDeployedIds(values, env, "a replay into SQS");
    const target = defaultTargetFromEnv(env);
    const routesFile = values.routes ?? nonEmpty(env.BRIDGE_ROUTES_FILE);
    const routes: RouteTable | undefined = routesFile === undefined ? undefined : readRoutingFile(routesFile, target);
    if (routesFile === undefined) io.err.write("no routing file (--routes or BRIDGE_ROUTES_FILE), so every firing alert goes to the SECMASTER_* default target\n");

    if (localDir !== undefined) checkLocalQueueFolder(localDir, io.err);
    const queues = openQueues(values, env, false);
    try {
      const progress = new ProgressBar(io.err, "replaying", { minTotal: 50 });
      const totals = { accepted: 0, skipped: 0, failed: 0 };
      for (const [index, body] of deliveries.entries()) {
        let results: AlertResult[];
        try {
          // A replayed delivery may have been started before, so dispatch looks before posting.
          results = await enqueueDelivery(
            { adapter, body, receivedAt: new Date(), options },
            { target, routes, queue: queues.queue, defaultSeverity: severity, priorAttempts: 1 },
          );
        } catch (error) {
          if (!(error instanceof BridgeError)) throw error;
          io.err.write(`delivery ${index + 1}: ${error.code}: ${error.message}\n`);
          totals.failed += 1;
          continue;
        }
        for (const result of results) {
          if (result.status === "accepted" || result.status === "skipped") totals[result.status] += 1;
          else totals.failed += 1;
          if (result.status === "failed") io.err.write(`delivery ${index + 1}: ${result.action_instance_id}: ${result.code}: ${result.reason}\n`);
        }
        progress.update(index + 1, deliveries.length);
      }
      progress.finish();
      io.out.write(
        `replayed ${formatCount(deliveries.length, "delivery", "deliveries")} into ${queues.queue.name}: ` +
          `${formatCount(totals.accepted, "job")} enqueued (one per alert and workflow), ${totals.skipped} skipped, ${totals.failed} failed\n`,
      );
      return totals.failed > 0 ? 1 : 0;
    } finally {
      queues.close();
    }
  });
}

/**
 * Returns `env` with the planning settings of the local bridge that runs on `folder`: routing
 * file, mapping files, source options, default severity and default target. Only settings that
 * neither `env` nor an option sets are taken, and a note on `err` names them. Jobs replayed into
 * a bridge's queue are then planned as the bridge plans its deliveries.
 */
function withBridgePlanning(env: Env, folder: string, values: { routes?: string | undefined; mapping?: string[] | undefined }, err: NodeJS.WritableStream): Env {
  const planning = readLocalBridge(folder)?.planning ?? {};
  const givenByOption: Record<string, boolean> = {
    BRIDGE_ROUTES_FILE: values.routes !== undefined,
    BRIDGE_GENERIC_MAPPINGS: values.mapping !== undefined,
  };
  const fromBridge: Record<string, string> = {};
  for (const [name, value] of Object.entries(planning)) {
    if (givenByOption[name] === true || nonEmpty(env[name]) !== undefined) continue;
    fromBridge[name] = value;
  }
  if (Object.keys(fromBridge).length === 0) return env;
  const names = Object.entries(fromBridge).map(([name, value]) => (name === "BRIDGE_SOURCE_OPTIONS" ? name : `${name}=${value}`));
  err.write(`planning with the settings of the local bridge on ${folder}: ${names.join(", ")}\n`);
  return { ...env, ...fromBridge };
}

/**
 * Reads saved deliveries: the whole file as one JSON document, or else one JSON document per
 * non-empty line. For a generic source in the `cef` format, raw CEF text is one delivery of its
 * lines, as the bridge reads a `text/plain` body.
 *
 * @throws BridgeError `BRIDGE.REPLAY_FILE_INVALID` naming every line that is not JSON; nothing
 *   is enqueued then.
 */
export function readDeliveries(file: string, adapter?: SourceAdapter<unknown>): unknown[] {
  const text = readFileSync(file, "utf8");
  if (adapter !== undefined && text.trim() !== "" && isRawCefText(text, adapter)) return [parseDeliveryText(text, file, adapter)];
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    // Not one document: read it as JSON Lines.
  }
  const deliveries: unknown[] = [];
  const badLines: number[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    try {
      deliveries.push(JSON.parse(line));
    } catch {
      badLines.push(index + 1);
    }
  }
  if (badLines.length > 0 || deliveries.length === 0) {
    const where = badLines.length > 0 ? `${listLines(badLines)} not JSON` : "it holds no delivery";
    const cef = adapter !== undefined && readsCefLines(adapter);
    throw new BridgeError("BRIDGE.REPLAY_FILE_INVALID", `failed to read ${file}: ${where}`, {
      statusCode: 400,
      fix: `save one JSON delivery per file, or one per line${cef ? ", or raw CEF lines as one delivery" : ""}`,
    });
  }
  return deliveries;
}

// "line 2 is", "lines 1 and 3 are", "lines 1, 3 and 4 are", with at most ten numbers shown.
function listLines(lines: number[]): string {
  if (lines.length === 1) return `line ${lines[0]} is`;
  const shown = lines.slice(0, 10);
  const more = lines.length - shown.length;
  const last = more > 0 ? `${more} more` : String(shown.pop());
  return `lines ${shown.join(", ")} and ${last} are`;
}

/**
 * Opens the SQS queues named by the options or the environment, or else the local queues under
 * the data folder. `needDeadLetters` makes a missing dead-letter queue URL an error.
 */
export function openQueues(
  values: { "queue-url"?: string | undefined; "dlq-url"?: string | undefined; "data-dir"?: string | undefined },
  env: Env,
  needDeadLetters: boolean,
): Queues {
  const localDir = localQueueDataDir(values, env);
  if (localDir !== undefined) {
    const maxReceives = Number(nonEmpty(env.BRIDGE_MAX_RECEIVES) ?? 5);
    const local = openLocalQueues(localDir, maxReceives);
    return { queue: local.queue, deadLetters: local.deadLetters, close: () => undefined };
  }
  const queueUrl = values["queue-url"] ?? (values["data-dir"] === undefined ? nonEmpty(env.BRIDGE_QUEUE_URL) : undefined);
  const dlqUrl = values["dlq-url"] ?? (values["data-dir"] === undefined ? nonEmpty(env.BRIDGE_DLQ_URL) : undefined);
  const issues: string[] = [];
  if (queueUrl === undefined) issues.push("--queue-url: set it (or BRIDGE_QUEUE_URL) to the SQS jobs queue");
  if (needDeadLetters && dlqUrl === undefined) issues.push("--dlq-url: set it (or BRIDGE_DLQ_URL) to the SQS dead-letter queue");
  if (issues.length > 0) throw new ConfigError(issues);

  const region = nonEmpty(env.AWS_REGION) ?? regionOfQueueUrl(queueUrl!) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (region === undefined) {
    throw new ConfigError([`AWS_REGION: set it to the region of ${queueUrl!}, which the queue URL does not name`]);
  }
  // The endpoint comes from AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL of `env`, as in the AWS CLI,
  // else from a queue URL outside AWS. The credentials come from profiles and SSO as well,
  // through the AWS SDK's chain.
  const client = new AwsJsonClient({ service: SQS, region, env, endpoint: sqsEndpointFor(queueUrl!, env), credentials: sdkCredentialChain() });
  return {
    queue: new SqsQueue({ client, queueUrl: queueUrl! }),
    deadLetters: dlqUrl === undefined ? undefined : new SqsQueue({ client, queueUrl: dlqUrl }),
    close: () => undefined,
  };
}

/**
 * Throws when jobs would go to SQS without the SECMASTER_* ids of the deployed bridge, because
 * the local emulator's placeholder ids would make every job fail at SecMaster in a real stack.
 */
function requireDeployedIds(values: { "queue-url"?: string | undefined; "data-dir"?: string | undefined }, env: Env, operation: string): void {
  const intoSqs = values["queue-url"] !== undefined || (values["data-dir"] === undefined && nonEmpty(env.BRIDGE_QUEUE_URL) !== undefined);
  const unset = ["SECMASTER_PROJECT_ID", "SECMASTER_WORKSPACE_ID", "SECMASTER_WORKFLOW_ID"].filter((name) => nonEmpty(env[name]) === undefined);
  if (intoSqs && unset.length > 0) {
    throw new ConfigError(unset.map((name) => `${name}: set it to the id the deployed bridge uses; ${operation} does not fall back to the local emulator's ids`));
  }
}

async function withErrors(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    return reportCliError(error, io);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === "" ? undefined : trimmed;
}
