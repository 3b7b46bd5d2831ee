import { readFileSync } from "node:fs";
import { InboundAuth } from "./auth/inbound";
import { authSourceKeys, unknownAuthSources } from "./auth/settings";
import { registerSettingsFileCheck, type BridgeConfig, type LoadConfigOptions } from "./config";
import type { MessageQueue } from "./delivery/queue";
import { SqsQueue } from "./delivery/sqs";
import type { Starter } from "./delivery/start";
import { ConfigError, collectIssues } from "./errors";
import type { DefaultTarget } from "./ingest";
import { createRoutingSource, type RoutingSettings, type RoutingSource } from "./routing/load";
import { readSchedulesFile } from "./schedule/load";
import { createGenericAdapter, loadGenericMapping } from "./sources/generic";
import { BUILT_IN_SOURCES, findSource } from "./sources/index";
import type { SourceAdapter } from "./sources/types";

/**
 * Long-lived objects that accepting deliveries needs: configuration, routing, sources, inbound
 * authentication and the job queues. It contains no SecMaster client, so that the queue-mode ingest
 * function bundles none of the SecMaster client, undici and the idempotency store.
 */
export interface IngestRuntime {
  config: BridgeConfig;
  target: DefaultTarget;
  /** Routing rules from `BRIDGE_ROUTES_FILE` or `BRIDGE_ROUTES_SSM_PARAMETER`, else the default target. */
  routing: RoutingSource;
  /** Generic JSON sources loaded from mapping files, by source id. */
  genericSources: Record<string, SourceAdapter<unknown>>;
  /** Inbound authentication of every source; a test may replace it to inject a clock or an HTTPS client. */
  inbound: InboundAuth;
  /** Queue of start jobs; set in queue mode. */
  queue: MessageQueue | undefined;
  /** Queue that dispatch sends failed jobs to with their last error. */
  deadLetters: MessageQueue | undefined;
  /** Starts jobs in direct mode. Only the full runtime of `lib/runtime.ts` has one. */
  starter?: Starter | undefined;
  close(): Promise<void>;
}

/** Parts a caller supplies instead of the ones the configuration names. */
export interface RuntimeOverrides {
  /** The local run's on-disk queue, used when `BRIDGE_QUEUE_URL` is not set. */
  queue?: MessageQueue;
  deadLetters?: MessageQueue;
}

/**
 * Builds the ingest runtime from a parsed configuration. Reuse it across invocations.
 *
 * @throws ConfigError listing every problem at once: a missing queue in queue mode (neither
 *   `BRIDGE_QUEUE_URL` nor an override names one), invalid generic mapping files, invalid
 *   `BRIDGE_SOURCE_OPTIONS`, an invalid routing file, and then also an invalid schedules file.
 */
export function createIngestRuntime(config: BridgeConfig, overrides: RuntimeOverrides = {}): IngestRuntime {
  const { delivery } = config;
  const issues: string[] = [];
  // Each SQS queue makes its client on its first request, from the function's environment.
  const queue = delivery.queueUrl === undefined ? overrides.queue : new SqsQueue({ queueUrl: delivery.queueUrl });
  const deadLetters = delivery.deadLetterQueueUrl === undefined ? overrides.deadLetters : new SqsQueue({ queueUrl: delivery.deadLetterQueueUrl });
  if (delivery.mode === "queue" && queue === undefined) {
    issues.push("BRIDGE_QUEUE_URL: queue mode needs a queue; set the SQS queue URL, or BRIDGE_MODE=direct");
  }

  const target: DefaultTarget = {
    projectId: config.secmaster.projectId,
    workspaceId: config.secmaster.workspaceId,
    workflowId: config.secmaster.workflowId,
    dataclass:
      config.secmaster.dataclassId === undefined
        ? { name: config.secmaster.dataclassName }
        : { id: config.secmaster.dataclassId, name: config.secmaster.dataclassName },
  };

  const { genericSources, routing } = loadSourceSettings(
    { genericMappingFiles: config.ingest.genericMappingFiles, sourceOptions: config.ingest.sourceOptions, routing: config.routing, checkRouteSources: false },
    target,
    issues,
  );
  if (issues.length > 0 || routing === undefined) {
    // Callers read the schedules file after this runtime is built. When something else failed,
    // the error lists the schedules file's problems as well.
    if (config.schedulesFile !== undefined) collectIssues(issues, () => readSchedulesFile(config.schedulesFile!));
    throw new ConfigError(issues);
  }

  return {
    config,
    target,
    routing,
    genericSources,
    inbound: new InboundAuth(config.auth, [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)]),
    queue,
    deadLetters,
    close: () => Promise.resolve(),
  };
}

/** Settings that name files or sources, which {@link loadSourceSettings} reads and checks. */
interface SourceSettings {
  genericMappingFiles: readonly string[];
  sourceOptions: Readonly<Record<string, unknown>>;
  routing: RoutingSettings;
  /**
   * Whether to check the routing file's `match.source` against the built-in and generic source
   * ids. It is checked only when every generic mapping loaded, because a failed mapping leaves
   * its source id out of the list.
   */
  checkRouteSources: boolean;
}

/**
 * Loads the generic sources and the routing source, and checks `BRIDGE_SOURCE_OPTIONS`. Each
 * problem is added to `issues`, so one broken part hides none of the others.
 *
 * @returns The generic sources that loaded, and the routing source unless it failed to load.
 */
function loadSourceSettings(
  settings: SourceSettings,
  target: DefaultTarget,
  issues: string[],
): { genericSources: Record<string, SourceAdapter<unknown>>; mappingsLoaded: boolean; routing: RoutingSource | undefined } {
  const mappingIssues: string[] = [];
  const genericSources = readGenericSources(settings.genericMappingFiles, mappingIssues);
  issues.push(...mappingIssues);

  // When a mapping failed, its source is missing, so options for it are not reported as unknown.
  const sourceOptions =
    mappingIssues.length === 0
      ? settings.sourceOptions
      : Object.fromEntries(Object.entries(settings.sourceOptions).filter(([sourceId]) => findSource(sourceId, genericSources) !== undefined));
  collectIssues(issues, () => checkSourceOptions(sourceOptions, genericSources));
  // The deployed functions leave match.source unchecked, because the events and schedule functions
  // share ingest's routing file without its generic mappings, and a rule naming a generic source
  // must not stop them. `routes check` and `npm start` check it with the full list.
  const sourceIds =
    settings.checkRouteSources && mappingIssues.length === 0 ? [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)] : undefined;
  const routing = collectIssues(issues, () => createRoutingSource(settings.routing, target, { sourceIds }));
  return { genericSources, mappingsLoaded: mappingIssues.length === 0, routing };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Checks the files and source settings that the environment names, for a `loadConfig` call
 * that found problems in the environment itself. Settings the environment schema rejects are
 * skipped, because loadConfig reports them already.
 */
function checkSettingsFiles(env: Env, options: LoadConfigOptions): string[] {
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const issues: string[] = [];
  const dataclassId = text("SECMASTER_DATACLASS_ID");
  const dataclassName = text("SECMASTER_DATACLASS_NAME") ?? "Alert";
  // loadConfig reports missing ids, and an empty id matches no routing target.
  const target: DefaultTarget = {
    projectId: text("SECMASTER_PROJECT_ID") ?? "",
    workspaceId: text("SECMASTER_WORKSPACE_ID") ?? "",
    workflowId: text("SECMASTER_WORKFLOW_ID") ?? "",
    dataclass: dataclassId === undefined ? { name: dataclassName } : { id: dataclassId, name: dataclassName },
  };
  const genericMappingFiles = (text("BRIDGE_GENERIC_MAPPINGS") ?? "")
    .split(",")
    .map((file) => file.trim())
    .filter((file) => file !== "");
  // The SSM parameter is read at the first delivery, not at start, so only a routing file is checked.
  const { genericSources, mappingsLoaded } = loadSourceSettings(
    {
      genericMappingFiles,
      sourceOptions: parseSourceOptions(text("BRIDGE_SOURCE_OPTIONS")),
      routing: { file: text("BRIDGE_ROUTES_FILE"), ssmParameter: undefined },
      checkRouteSources: options.checkRouteSources === true,
    },
    target,
    issues,
  );
  // A misspelt source id in a BRIDGE_AUTH_ name would otherwise show only after the other problems are fixed.
  if (mappingsLoaded) issues.push(...unknownAuthSources(authSourceKeys(env), [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)]));
  const schedulesFile = text("BRIDGE_SCHEDULES_FILE");
  if (schedulesFile !== undefined) collectIssues(issues, () => readSchedulesFile(schedulesFile));
  return issues;
}

// Returns the options object, or an empty one when the text is not a JSON object (loadConfig reports that).
function parseSourceOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// Every function that builds an ingest runtime imports this module before it loads the
// configuration, so loadConfig lists these problems with those of the environment.
registerSettingsFileCheck(checkSettingsFiles);

/**
 * Reads generic JSON source mappings. A file contains one mapping or an array of them, and each becomes
 * the source named by its `source_key`.
 *
 * @param setting Name of the variable or option that listed the files, at the start of each issue.
 * @throws ConfigError listing every problem of every file.
 */
export function loadGenericSources(files: readonly string[], setting = "BRIDGE_GENERIC_MAPPINGS"): Record<string, SourceAdapter<unknown>> {
  const issues: string[] = [];
  const sources = readGenericSources(files, issues, setting);
  if (issues.length > 0) throw new ConfigError(issues);
  return sources;
}

// Returns the mappings that are valid and adds the problems of the others to `issues`.
function readGenericSources(files: readonly string[], issues: string[], setting = "BRIDGE_GENERIC_MAPPINGS"): Record<string, SourceAdapter<unknown>> {
  const sources: Record<string, SourceAdapter<unknown>> = {};
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      issues.push(`${setting}: cannot read ${file}: ${(error as Error).message}`);
      continue;
    }
    for (const [index, entry] of (Array.isArray(parsed) ? parsed : [parsed]).entries()) {
      let adapter: SourceAdapter<unknown>;
      try {
        adapter = createGenericAdapter(loadGenericMapping(entry, `${setting}: ${file} mapping ${index}`));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        issues.push(...error.issues);
        continue;
      }
      if (Object.hasOwn(BUILT_IN_SOURCES, adapter.id) || Object.hasOwn(sources, adapter.id)) {
        issues.push(`${setting}: ${file} mapping ${index}: source_key ${adapter.id} is already taken`);
        continue;
      }
      sources[adapter.id] = adapter;
    }
  }
  return sources;
}

/**
 * Checks `BRIDGE_SOURCE_OPTIONS` against the sources that exist and their option schemas.
 *
 * @throws ConfigError listing every unknown source id and every invalid setting.
 */
export function checkSourceOptions(
  sourceOptions: Readonly<Record<string, unknown>>,
  genericSources: Readonly<Record<string, SourceAdapter<unknown>>>,
): void {
  const issues: string[] = [];
  for (const [sourceId, options] of Object.entries(sourceOptions)) {
    const adapter = findSource(sourceId, genericSources);
    if (adapter === undefined) {
      issues.push(`BRIDGE_SOURCE_OPTIONS: ${sourceId}: unknown source id`);
      continue;
    }
    if (adapter.optionsSchema === undefined) {
      issues.push(`BRIDGE_SOURCE_OPTIONS: ${sourceId}: this source takes no settings`);
      continue;
    }
    const result = adapter.optionsSchema.safeParse(options);
    for (const issue of result.success ? [] : result.error.issues) {
      const field = [sourceId, ...issue.path.map(String)].join(".");
      issues.push(`BRIDGE_SOURCE_OPTIONS: ${field}: ${issue.message}`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
