import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Context } from "aws-lambda";
import { loadSecrets } from "../lib/auth/secrets";
import type { BridgeConfig } from "../lib/config";
import { startsDeadline } from "../lib/delivery/deadline";
import { ConfigError } from "../lib/errors";
import { createIngestRuntime, type IngestRuntime } from "../lib/ingest-runtime";
import { logger } from "../lib/logger";
import { metrics } from "../lib/metrics";
import { createRuntime } from "../lib/runtime";
import { readSchedulesFile, type Schedule } from "../lib/schedule/load";
import { enqueueScheduledEvent, runScheduledEvent, type ScheduledRunResult } from "../lib/schedule/trigger";
import { getConfig, yamlFilesOnDemand } from "./config";
import { credentialBoundCache } from "./credential-cache";

/** The runtime and the schedules of one execution environment. */
export interface ScheduleRuntime {
  /**
   * In queue mode the ingest runtime, which has the jobs queue and no SecMaster client, is
   * enough. Direct mode needs a runtime with a starter, such as the full runtime of `lib/runtime.ts`.
   */
  runtime: IngestRuntime;
  schedules: readonly Schedule[];
}

let queueRuntime: IngestRuntime | undefined;
let schedules: readonly Schedule[] | undefined;
// Direct mode: the full runtime, rebuilt when a SecMaster key fetched from SSM or Secrets Manager changes.
const directRuntime = credentialBoundCache(createRuntime);

/**
 * Reads `BRIDGE_SCHEDULES_FILE` and builds the runtime on first use. In queue mode that is the
 * ingest runtime, built once. In direct mode it is the full runtime.
 */
function getScheduleRuntime(): ScheduleRuntime {
  const settings = getConfig();
  if (settings.schedulesFile === undefined) {
    throw new ConfigError(["BRIDGE_SCHEDULES_FILE: required by the schedule function; set it to the schedules file packaged with it"]);
  }
  schedules ??= readSchedulesFile(settings.schedulesFile);
  if (settings.delivery.mode === "queue") {
    queueRuntime ??= createIngestRuntime(settings);
    return { runtime: queueRuntime, schedules };
  }
  return { runtime: directRuntime.get(), schedules };
}

async function handleScheduledEvent(event: unknown, context: Context, runtimeOf: () => ScheduleRuntime): Promise<ScheduledRunResult> {
  const { runtime, schedules } = runtimeOf();
  const { queue, deadLetters, starter, target } = runtime;
  if (runtime.config.delivery.mode === "queue") {
    // createIngestRuntime throws in queue mode without a queue, but a runtime built by hand may lack one.
    if (queue === undefined) throw new ConfigError(["BRIDGE_QUEUE_URL: queue mode needs a queue; set the SQS queue URL, or BRIDGE_MODE=direct"]);
    return enqueueScheduledEvent(event, { schedules, target, queue });
  }
  if (starter === undefined) {
    throw new ConfigError(["BRIDGE_MODE: direct mode needs a runtime that can start workflows, such as the one createRuntime builds"]);
  }
  starter.registerLambdaContext(context);
  return runScheduledEvent(event, { schedules, target, starter, deadLetters }, startsDeadline(context));
}

/**
 * Fetches the SecMaster credentials stored in SSM or Secrets Manager in direct mode only, because
 * queue mode never calls SecMaster. The inbound authentication secrets of the HTTP sources are
 * not needed in either mode.
 */
function secMasterSecrets(configOf: () => BridgeConfig): middy.MiddlewareObj {
  const fetchSecrets = loadSecrets({ authOf: () => ({ ...configOf().auth, sources: {} }), secmasterOf: () => configOf().secmaster.credentials });
  return {
    before: async (request) => {
      if (configOf().delivery.mode === "queue") return;
      await fetchSecrets.before?.(request);
    },
  };
}

/**
 * Builds the schedule handler over a runtime provider, which the local runner passes too. In queue
 * mode (`BRIDGE_MODE`) the handler enqueues each scheduled run's start job for dispatch, and in
 * direct mode it starts the workflow instance itself. A thrown error fails the invocation, so
 * Lambda retries the event, and the retry maps to the same `action_instance_id`. `configOf` names
 * the SecMaster credentials to fetch before the runtime is built in direct mode.
 */
export function createScheduleHandler(runtimeOf: () => ScheduleRuntime, configOf: () => BridgeConfig = () => runtimeOf().runtime.config) {
  return middy<unknown, ScheduledRunResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    // Publishes what a direct-mode start counted, such as SecMaster retries.
    .use(logMetrics(metrics))
    .use(yamlFilesOnDemand)
    .use(secMasterSecrets(configOf))
    .handler((event, context) => handleScheduledEvent(event, context, runtimeOf));
}

/** Lambda handler for the EventBridge rules generated from the schedules file. */
export const handler = createScheduleHandler(getScheduleRuntime, getConfig);
