import { readFileSync } from "node:fs";
import { SQSClient } from "@aws-sdk/client-sqs";
import { InboundAuth } from "./auth/inbound";
import type { BridgeConfig } from "./config";
import type { MessageQueue } from "./delivery/queue";
import { SqsQueue } from "./delivery/sqs";
import type { Starter } from "./delivery/start";
import { ConfigError } from "./errors";
import type { DefaultTarget } from "./ingest";
import { createRoutingSource, type RoutingSource } from "./routing/load";
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
 * @throws ConfigError in queue mode when neither `BRIDGE_QUEUE_URL` nor an override names a queue,
 *   and when a generic mapping file or `BRIDGE_SOURCE_OPTIONS` is invalid.
 */
export function createIngestRuntime(config: BridgeConfig, overrides: RuntimeOverrides = {}): IngestRuntime {
  const { delivery } = config;
  const sqs = delivery.queueUrl !== undefined || delivery.deadLetterQueueUrl !== undefined ? new SQSClient({}) : undefined;
  const queue = delivery.queueUrl === undefined ? overrides.queue : new SqsQueue({ client: sqs!, queueUrl: delivery.queueUrl });
  const deadLetters =
    delivery.deadLetterQueueUrl === undefined ? overrides.deadLetters : new SqsQueue({ client: sqs!, queueUrl: delivery.deadLetterQueueUrl });
  if (delivery.mode === "queue" && queue === undefined) {
    throw new ConfigError(["BRIDGE_QUEUE_URL: queue mode needs a queue; set the SQS queue URL, or BRIDGE_MODE=direct"]);
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

  const genericSources = loadGenericSources(config.ingest.genericMappingFiles);
  checkSourceOptions(config.ingest.sourceOptions, genericSources);
  return {
    config,
    target,
    routing: createRoutingSource(config.routing, target),
    genericSources,
    inbound: new InboundAuth(config.auth, [...Object.keys(BUILT_IN_SOURCES), ...Object.keys(genericSources)]),
    queue,
    deadLetters,
    close: () => {
      sqs?.destroy();
      return Promise.resolve();
    },
  };
}

/**
 * Reads generic JSON source mappings. A file contains one mapping or an array of them, and each becomes
 * the source named by its `source_key`.
 */
export function loadGenericSources(files: readonly string[]): Record<string, SourceAdapter<unknown>> {
  const sources: Record<string, SourceAdapter<unknown>> = {};
  const issues: string[] = [];
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      issues.push(`BRIDGE_GENERIC_MAPPINGS: cannot read ${file}: ${(error as Error).message}`);
      continue;
    }
    for (const [index, entry] of (Array.isArray(parsed) ? parsed : [parsed]).entries()) {
      let adapter: SourceAdapter<unknown>;
      try {
        adapter = createGenericAdapter(loadGenericMapping(entry, `BRIDGE_GENERIC_MAPPINGS: ${file} mapping ${index}`));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        issues.push(...error.issues);
        continue;
      }
      if (Object.hasOwn(BUILT_IN_SOURCES, adapter.id) || Object.hasOwn(sources, adapter.id)) {
        issues.push(`BRIDGE_GENERIC_MAPPINGS: ${file} mapping ${index}: source_key ${adapter.id} is already taken`);
        continue;
      }
      sources[adapter.id] = adapter;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
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
