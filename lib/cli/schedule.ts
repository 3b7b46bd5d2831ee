import { normalizeTime } from "../alert/time";
import { loadConfig, type BridgeConfig } from "../config";
import { createInstanceBody } from "../delivery/job";
import { localLambdaContext } from "../delivery/poller";
import { createStarter, describeStartFailure, type Starter } from "../delivery/start";
import { hasSecMasterCredentials } from "../local/bridge";
import { isScheduledTime, nextScheduledTime } from "../schedule/expression";
import { readSchedulesFile, type Schedule } from "../schedule/load";
import { enqueueScheduledRun, findSchedule, planScheduledRun, type PlannedScheduledRun } from "../schedule/run";
import { PerProject, createProjectStarter } from "../routing/projects";
import { isDuplicateInstanceError } from "../secmaster/client";
import { createStartParts } from "../start-runtime";
import { parseCommandArgs } from "./args";
import { cliClients } from "./clients";
import { reportCliError } from "./errors";
import { readLocalBridge } from "../local/data-dir";
import { checkLocalQueueFolder, localQueueDataDir, withLocalBridge } from "./local-bridge";
import { openQueues } from "./queue";
import { defaultTargetFromEnv, type CliIo } from "./routes";
import { formatTable } from "./table";

type Env = Readonly<Record<string, string | undefined>>;

export const SCHEDULE_USAGE = `  schedule list                    List the schedules and their next scheduled times (UTC).
      --from TIME                  Start of the listing, RFC 3339 (default: now).
      --data-dir DIR               Folder of the local bridge whose schedules file to read when
                                   none is named (default: BRIDGE_DATA_DIR or .data).
  schedule run NAME                Run one scheduled time now. In queue mode (BRIDGE_MODE, default
                                   queue) it enqueues the start job, which dispatch starts (locally,
                                   a running npm start on the same data folder); in direct mode it
                                   starts the workflow instance from this process.
      --at TIME                    Scheduled time, RFC 3339 (default: now, to the minute). The same
                                   NAME and TIME always map to the same action_instance_id.
      --dry-run                    Print the CreateWorkflowInstance body instead of sending it.
      --direct                     Start the instance from this process even in queue mode.
                                   Without SecMaster credentials it uses the emulator and the
                                   idempotency store of the npm start running on the data folder.
      --no-store                   Direct mode only: skip the DynamoDB idempotency table and rely
                                   on SecMaster rejecting a known action_instance_id.
      --queue-url URL              Queue mode: SQS jobs queue (default: BRIDGE_QUEUE_URL; without
                                   it, the local queue).
      --data-dir DIR               Folder of the local queue and of the local bridge (default:
                                   BRIDGE_DATA_DIR or .data). A queued run needs an existing folder.
  Both take --schedules FILE (default: BRIDGE_SCHEDULES_FILE, else the schedules file of the
  npm start running on --data-dir).`;

/** Runs `secmaster-bridge schedule …` and returns the exit code. */
export async function scheduleCommand(args: string[], io: CliIo, env: Env = process.env, now: () => Date = () => new Date()): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === "list") return listSchedules(rest, io, env, now);
    if (subcommand === "run") return await runSchedule(rest, io, env, now);
  } catch (error) {
    return reportCliError(error, io);
  }
  io.err.write(`schedule needs the subcommand list or run\n\n${SCHEDULE_USAGE}\n`);
  return 2;
}

/**
 * Reads the schedules file named by `--schedules`, else by `BRIDGE_SCHEDULES_FILE`, else the one
 * of the local bridge running on the data folder, with a note on stderr.
 */
function schedulesFrom(file: string | undefined, env: Env, io: CliIo, dataDir: string | undefined): { path: string; schedules: Schedule[] } | undefined {
  if (file !== undefined) return { path: file, schedules: readSchedulesFile(file, "--schedules") };
  const path = env.BRIDGE_SCHEDULES_FILE?.trim() || undefined;
  if (path !== undefined) return { path, schedules: readSchedulesFile(path) };

  const folder = dataDir ?? (env.BRIDGE_DATA_DIR?.trim() || ".data");
  const bridgeFile = readLocalBridge(folder)?.schedulesFile;
  if (bridgeFile === undefined) {
    io.err.write(`name the schedules file with --schedules FILE or BRIDGE_SCHEDULES_FILE (no npm start with a schedules file runs on ${folder}, set by --data-dir or BRIDGE_DATA_DIR)\n`);
    return undefined;
  }
  io.err.write(`using the schedules file of the local bridge on ${folder}: ${bridgeFile}\n`);
  return { path: bridgeFile, schedules: readSchedulesFile(bridgeFile) };
}

function timeOption(value: string | undefined, option: string, fallback: Date): Date {
  if (value === undefined) return fallback;
  return new Date(normalizeTime(value, { field: option }) ?? fallback.toISOString());
}

function listSchedules(args: string[], io: CliIo, env: Env, now: () => Date): number {
  const { values } = parseCommandArgs("schedule list", {
    args,
    options: { schedules: { type: "string" }, from: { type: "string" }, "data-dir": { type: "string" } },
  });
  const file = schedulesFrom(values.schedules, env, io, values["data-dir"]);
  if (file === undefined) return 2;
  const { path, schedules } = file;
  if (schedules.length === 0) {
    io.out.write(`${path}: no schedules declared\n`);
    return 0;
  }
  const from = timeOption(values.from, "--from", now());

  const rows = schedules.map((schedule) => {
    const upcoming: string[] = [];
    for (let time = nextScheduledTime(schedule.expression, from); time !== undefined && upcoming.length < 3; time = nextScheduledTime(schedule.expression, time)) {
      upcoming.push(time.toISOString());
    }
    return [schedule.name, schedule.expression.text, schedule.enabled ? "yes" : "no", upcoming.join(", ") || "none"];
  });
  io.out.write(`${formatTable(["NAME", "EXPRESSION", "ENABLED", "NEXT TIMES (UTC)"], rows)}\n`);
  return 0;
}

async function runSchedule(args: string[], io: CliIo, env: Env, now: () => Date): Promise<number> {
  const { values, positionals } = parseCommandArgs("schedule run", {
    args,
    allowPositionals: true,
    options: {
      schedules: { type: "string" },
      at: { type: "string" },
      "dry-run": { type: "boolean" },
      direct: { type: "boolean" },
      "no-store": { type: "boolean" },
      "queue-url": { type: "string" },
      "data-dir": { type: "string" },
    },
  });
  const name = positionals[0];
  if (name === undefined || positionals.length > 1) {
    io.err.write("schedule run needs exactly one schedule NAME\n");
    return 2;
  }
  const mode = values.direct === true ? "direct" : (env.BRIDGE_MODE?.trim() || "queue");
  if (mode !== "queue" && mode !== "direct") {
    io.err.write(`BRIDGE_MODE must be queue or direct, got ${JSON.stringify(mode)}\n`);
    return 2;
  }
  if (mode === "queue" && values["no-store"] === true) {
    io.err.write("--no-store applies only when this process starts the instance; add --direct or set BRIDGE_MODE=direct\n");
    return 2;
  }
  const file = schedulesFrom(values.schedules, env, io, values["data-dir"]);
  if (file === undefined) return 2;
  const schedule = findSchedule(file.schedules, name);
  // Disabling a schedule stops its timer, not a run that an operator requests by name.
  if (!schedule.enabled) {
    io.err.write(`note: schedule ${schedule.name} is disabled in ${file.path}; running it only because it was named\n`);
  }
  const minute = new Date(Math.floor(now().getTime() / 60_000) * 60_000);
  const at = timeOption(values.at, "--at", minute);
  if (!isScheduledTime(schedule.expression, at)) {
    io.err.write(`note: ${at.toISOString()} is not a scheduled time of ${schedule.expression.text}; running it anyway\n`);
  }

  // A direct run may use a running local bridge's settings, so the job is planned for its target.
  const runEnv = mode === "direct" ? withLocalBridge(env, values["data-dir"], io.err) : env;
  const run = { schedule: schedule.name, scheduledTime: at.toISOString(), job: planScheduledRun(schedule, at.toISOString(), defaultTargetFromEnv(runEnv)) };
  if (values["dry-run"] === true) {
    io.out.write(`${JSON.stringify(createInstanceBody(run.job), null, 2)}\n`);
    return 0;
  }
  if (mode === "queue") return enqueueRun(run, values, env, io);
  return startRun(run, values["no-store"] === true, runEnv, io);
}

/** Enqueues the run's job (queue mode), the same job that the schedule function enqueues, for dispatch to start. */
async function enqueueRun(
  run: PlannedScheduledRun,
  values: { "queue-url"?: string | undefined; "data-dir"?: string | undefined },
  env: Env,
  io: CliIo,
): Promise<number> {
  const dataDir = localQueueDataDir(values, env);
  if (dataDir !== undefined) checkLocalQueueFolder(dataDir, io.err);
  const queues = openQueues(values, env, false);
  try {
    await enqueueScheduledRun(queues.queue, run);
    io.out.write(
      `queued ${run.job.actionInstanceId} (schedule ${run.schedule} at ${run.scheduledTime}, workflow ${run.job.workflowId}) ` +
        `in ${queues.queue.name}; dispatch starts it\n`,
    );
    return 0;
  } finally {
    queues.close();
  }
}

/** Starts the run's instance from this process (direct mode or `--direct`). */
async function startRun(run: PlannedScheduledRun, noStore: boolean, env: Env, io: CliIo): Promise<number> {
  const { job } = run;
  if (!hasSecMasterCredentials(env)) {
    io.err.write(
      "set SECMASTER_AK and SECMASTER_SK (or SECMASTER_AUTH_TOKEN) to start the instance, " +
        "run npm start on the data folder to use its emulator, or pass --dry-run\n",
    );
    return 2;
  }

  const config = loadConfig(env);
  const { starter, close } = openStarter(config, noStore);
  // The in-progress idempotency record of this start expires when the SecMaster call's budget
  // (SECMASTER_TIMEOUT_MS) has passed, as it would with a Lambda invocation.
  starter.registerLambdaContext(localLambdaContext(config.secmaster.timeoutMs));
  try {
    const outcome = await starter.start(job);
    io.out.write(`${outcome.status} ${job.actionInstanceId} (schedule ${run.schedule} at ${run.scheduledTime}, workflow ${job.workflowId})\n`);
    return 0;
  } catch (error) {
    const failure = describeStartFailure(error);
    io.err.write(`failed to start workflow instance ${job.actionInstanceId} for schedule ${run.schedule}: ${failure.reason}\n`);
    return 1;
  } finally {
    await close();
  }
}

/**
 * Opens the starter of `schedule run`: the SecMaster clients and DynamoDB idempotency table of
 * the dispatch function, or with `--no-store` a bare client, where SecMaster's rejection of a
 * known `action_instance_id` is the only guard.
 */
function openStarter(config: BridgeConfig, noStore: boolean): { starter: Starter; close: () => Promise<void> } {
  if (!noStore) return createStartParts(config);
  const clients = cliClients(config.secmaster);
  const starters = new PerProject((projectId) => createStarter({ client: clients.get(projectId), persistenceStore: undefined, isDuplicateError: isDuplicateInstanceError }));
  return {
    starter: createProjectStarter(starters),
    close: async () => {
      for (const client of clients.values()) await client.close();
    },
  };
}
