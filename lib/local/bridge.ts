import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { loadConfig, type BridgeConfig } from "../config";
import { createDispatchHandler, dispatchDependencies } from "../../functions/dispatch";
import { createIngestHandler } from "../../functions/ingest";
import { openLocalQueues, type LocalQueue } from "../delivery/local-queue";
import { startQueuePoller } from "../delivery/poller";
import { createRuntime, type Runtime } from "../runtime";
import { lockDataDir } from "./data-dir";
import { startDynalite, ensureIdempotencyTable, type LocalDynamoDB } from "./dynamodb";
import { parseFaults, startEmulator, type RunningEmulator } from "./emulator";
import { startLocalHttpServer, type LocalHttpServer } from "./http-server";
import { cliSettingsOf, EMULATOR_DEFAULTS, emulatorSettings, servedWorkflows, type ServedWorkflows } from "./local-emulator";
import { logger } from "../logger";
import { checkLocalSettings } from "./preflight";
import { startLocalSchedules, type LocalScheduler } from "./scheduler";

export { EMULATOR_DEFAULTS } from "./local-emulator";

export interface LocalBridgeOptions {
  /** Environment to read settings from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Bridge port; 0 picks a free one. @default PORT or 3000 */
  port?: number;
  /** Emulator port; 0 picks a free one. @default SECMASTER_EMULATOR_PORT or 9400 */
  emulatorPort?: number;
  /** Folder for the dynalite tables and the emulator's instances. @default BRIDGE_DATA_DIR or .data */
  dataDir?: string;
  /** Keep the idempotency store in memory instead of under `dataDir`. @default false */
  inMemoryStore?: boolean;
  /** Dispatch invocations running at once in queue mode. @default 4 */
  dispatchParallelism?: number;
}

/** A running local bridge with its stand-ins. */
export interface LocalBridge {
  url: string;
  config: BridgeConfig;
  runtime: Runtime;
  /** The embedded emulator, when no SecMaster credentials were configured. */
  emulator: RunningEmulator | undefined;
  dynamodb: LocalDynamoDB;
  /** The on-disk jobs queue under `dataDir`, in either mode without `BRIDGE_QUEUE_URL`. */
  queue: LocalQueue | undefined;
  /** The on-disk dead-letter queue next to {@link queue}. */
  deadLetters: LocalQueue | undefined;
  /** Fires the schedules of `BRIDGE_SCHEDULES_FILE`; undefined without that setting. */
  scheduler: LocalScheduler | undefined;
  /** Workflows the embedded emulator serves and the targets it rejects; undefined without the emulator. */
  emulatorWorkflows: ServedWorkflows | undefined;
  /** File in the data folder that locks it and gives CLI commands the settings to reach this bridge. */
  infoFile: string;
  close(): Promise<void>;
}

/** True when the environment names real SecMaster credentials. */
export function hasSecMasterCredentials(env: Readonly<Record<string, string | undefined>>): boolean {
  return [env.SECMASTER_AK, env.SECMASTER_SK, env.SECMASTER_AUTH_TOKEN].some((value) => value !== undefined && value.trim() !== "");
}

/**
 * Starts the bridge on 127.0.0.1 with embedded stand-ins: dynalite as the idempotency store and,
 * without SecMaster credentials, the SecMaster emulator with a key pair made up for this process.
 */
export async function startLocalBridge(options: LocalBridgeOptions = {}): Promise<LocalBridge> {
  let closing: Promise<void> | undefined;
  const baseEnv = options.env ?? process.env;
  const dataDir = options.dataDir ?? baseEnv.BRIDGE_DATA_DIR ?? ".data";
  const emulatorPort = options.emulatorPort ?? Number(baseEnv.SECMASTER_EMULATOR_PORT ?? 9400);
  const emulatorKeys = hasSecMasterCredentials(baseEnv) ? undefined : { accessKey: "LOCALEMULATORKEY0001", secretKey: randomBytes(24).toString("hex") };
  // The stand-ins' URLs are known only once they listen, so the settings are checked with
  // placeholders in their place. Port 0 means any free port.
  const env: Record<string, string | undefined> = {
    ...baseEnv,
    ...(emulatorKeys === undefined ? {} : emulatorSettings(baseEnv, `http://127.0.0.1:${emulatorPort}`, emulatorKeys)),
    BRIDGE_DYNAMODB_ENDPOINT: "http://127.0.0.1:0",
  };
  const settings = checkLocalSettings(env, emulatorKeys !== undefined);
  const storePath = options.inMemoryStore === true ? undefined : join(dataDir, "dynamodb");
  const lock = await lockDataDir(dataDir, storePath);
  // Closed last, so the folder stays claimed until every store has closed.
  const opened: Closable[] = [{ close: () => Promise.resolve(lock.release()) }];

  try {
    const dynamodb = await startDynalite(storePath === undefined ? {} : { path: storePath });
    opened.push(dynamodb);
    env.BRIDGE_DYNAMODB_ENDPOINT = dynamodb.endpoint;

    let emulator: RunningEmulator | undefined;
    let emulatorWorkflows: ServedWorkflows | undefined;
    if (emulatorKeys !== undefined) {
      emulatorWorkflows = servedWorkflows(settings.config, settings.routes, settings.schedules);
      emulator = await startEmulator({
        port: emulatorPort,
        projectId: EMULATOR_DEFAULTS.projectId,
        credentials: [emulatorKeys],
        workspaces: [{ workspaceId: EMULATOR_DEFAULTS.workspaceId, workflows: emulatorWorkflows.workflows }],
        dataDir,
        ...(baseEnv.SECMASTER_EMULATOR_FAULTS === undefined ? {} : { faults: parseFaults(baseEnv.SECMASTER_EMULATOR_FAULTS) }),
      });
      opened.push(emulator);
      env.SECMASTER_ENDPOINT = emulator.url;
    }

    const config = loadConfig(env);
    await ensureIdempotencyTable(dynamodb.endpoint, config.idempotency.tableName);
    const { delivery } = config;
    // Direct mode needs the queues too: rejected starts go to the dead-letter queue, and the jobs
    // that `secmaster-bridge redrive` moves back wait in the jobs queue for the poller below.
    const localQueues = delivery.queueUrl === undefined ? openLocalQueues(dataDir, delivery.maxReceives) : undefined;
    if (localQueues !== undefined) await noteHiddenJobs(localQueues.queue);
    const runtime = createRuntime(config, localQueues ?? {});
    opened.push(runtime);

    if (runtime.queue !== undefined) {
      // The in-process stand-in for the SQS event source that invokes the dispatch function.
      const dispatch = createDispatchHandler(() => dispatchDependencies(runtime), { earlyTimeoutMs: delivery.earlyTimeoutMs });
      opened.push(
        startQueuePoller({
          queue: runtime.queue,
          handler: dispatch,
          batchSize: delivery.localBatchSize,
          functionTimeoutMs: delivery.localVisibilityTimeoutMs,
          parallelism: options.dispatchParallelism ?? 4,
        }),
      );
    }

    const server: LocalHttpServer = await startLocalHttpServer({
      host: baseEnv.BRIDGE_LOCAL_HOST ?? "127.0.0.1",
      port: options.port ?? Number(baseEnv.PORT ?? 3000),
      ingest: createIngestHandler(() => runtime),
      maxReadBytes: config.ingest.maxBodyBytes,
    });
    opened.push(server);

    const scheduler = startLocalSchedules(config, runtime);
    if (scheduler !== undefined) opened.push(scheduler);
    lock.publish({
      url: server.url,
      // The settings with the emulator's ids, when it runs, as the bridge plans with them.
      planning: planningSettingsOf(env),
      ...(config.schedulesFile === undefined ? {} : { schedulesFile: resolve(config.schedulesFile) }),
      ...(emulator === undefined ? {} : { cliEnv: cliSettingsOf(config, dynamodb.endpoint) }),
    });

    return {
      url: server.url,
      config,
      runtime,
      emulator,
      dynamodb,
      queue: localQueues?.queue,
      deadLetters: localQueues?.deadLetters,
      scheduler,
      emulatorWorkflows,
      infoFile: lock.file,
      // A second close, such as SIGTERM after Ctrl-C, waits for the first.
      close: () => (closing ??= closeAll(opened)),
    };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

/**
 * Logs the jobs that the queue hides at start, so that jobs a stopped bridge had received (after
 * a `kill -9`, say) are not taken for lost while their visibility timeout runs.
 */
async function noteHiddenJobs(queue: LocalQueue): Promise<void> {
  const { count, lastVisibleAtMs } = queue.hiddenMessages();
  if (count === 0 || lastVisibleAtMs === undefined) return;
  logger.info("some queued jobs wait for their visibility timeout or retry delay; they run when it ends, the others at once", {
    queueFolder: queue.name,
    queuedJobs: await queue.approximateCount(),
    waitingJobs: count,
    lastVisibleAt: new Date(lastVisibleAtMs).toISOString(),
    inSeconds: Math.ceil((lastVisibleAtMs - Date.now()) / 1000),
  });
}

/** A part of the running bridge; `stopAccepting` ends its intake at once, before any part closes. */
interface Closable {
  close(): Promise<void>;
  stopAccepting?(): void;
}

// Stops the intake of every part first, so that neither the server nor the poller takes new work
// while the other winds down, then closes the parts in the reverse order of opening.
async function closeAll(opened: Closable[]): Promise<void> {
  const parts = [...opened].reverse();
  opened.length = 0;
  for (const part of parts) part.stopAccepting?.();
  for (const part of parts) await part.close().catch(() => undefined);
}

/** Environment variables that decide how the bridge turns a delivery into start jobs. */
export const PLANNING_SETTINGS = [
  "BRIDGE_ROUTES_FILE",
  "BRIDGE_GENERIC_MAPPINGS",
  "BRIDGE_SOURCE_OPTIONS",
  "BRIDGE_DEFAULT_SEVERITY",
  "SECMASTER_PROJECT_ID",
  "SECMASTER_WORKSPACE_ID",
  "SECMASTER_WORKFLOW_ID",
  "SECMASTER_DATACLASS_ID",
  "SECMASTER_DATACLASS_NAME",
] as const;

/**
 * Returns the bridge's planning settings that are set, with the routing and mapping file paths
 * made absolute, so that a CLI command run from another folder reads the same files.
 */
export function planningSettingsOf(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const name of PLANNING_SETTINGS) {
    const value = env[name]?.trim();
    if (value === undefined || value === "") continue;
    if (name === "BRIDGE_ROUTES_FILE") {
      settings[name] = resolve(value);
    } else if (name === "BRIDGE_GENERIC_MAPPINGS") {
      const files = value.split(",").map((file) => file.trim());
      settings[name] = files.filter((file) => file !== "").map((file) => resolve(file)).join(",");
    } else {
      settings[name] = value;
    }
  }
  return settings;
}
