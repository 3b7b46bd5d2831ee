import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Context } from "aws-lambda";
import { latestSecretValues, loadSecrets, resolveSecMasterCredentials, sameCredentials } from "../lib/auth/secrets";
import { loadConfig, type BridgeConfig } from "../lib/config";
import { ConfigError } from "../lib/errors";
import { logger } from "../lib/logger";
import { createRuntime, type Runtime } from "../lib/runtime";
import { readSchedulesFile, type Schedule } from "../lib/schedule/load";
import { runScheduledEvent, type ScheduledRunResult } from "../lib/schedule/trigger";

/** The runtime and the schedules of one execution environment. */
export interface ScheduleRuntime {
  runtime: Runtime;
  schedules: readonly Schedule[];
}

let config: BridgeConfig | undefined;
let current: ScheduleRuntime | undefined;

function getConfig(): BridgeConfig {
  config ??= loadConfig();
  return config;
}

/**
 * Reads `BRIDGE_SCHEDULES_FILE` and builds the runtime on first use. The runtime is rebuilt when a
 * SecMaster credential fetched from SSM or Secrets Manager has changed.
 */
function getScheduleRuntime(): ScheduleRuntime {
  const settings = getConfig();
  if (settings.schedulesFile === undefined) {
    throw new ConfigError(["BRIDGE_SCHEDULES_FILE: required by the schedule function; set it to the schedules file packaged with it"]);
  }
  const credentials = resolveSecMasterCredentials(settings.secmaster.credentials, latestSecretValues());
  if (current === undefined || !sameCredentials(current.runtime.config.secmaster.credentials, credentials)) {
    const previous = current?.runtime;
    const schedules = current?.schedules ?? readSchedulesFile(settings.schedulesFile);
    current = { runtime: createRuntime({ ...settings, secmaster: { ...settings.secmaster, credentials } }), schedules };
    void previous?.close();
  }
  return current;
}

async function handleScheduledEvent(event: unknown, context: Context, runtimeOf: () => ScheduleRuntime): Promise<ScheduledRunResult> {
  const { runtime, schedules } = runtimeOf();
  runtime.starter.registerLambdaContext(context);
  return runScheduledEvent(event, { schedules, target: runtime.target, starter: runtime.starter });
}

/**
 * Builds the schedule handler over a runtime provider; the local runner passes its own. A thrown
 * error fails the invocation, so Lambda retries the event, and the retry maps to the same
 * `action_instance_id`. `configOf` names the SecMaster credentials to fetch before the runtime is
 * built; the inbound authentication secrets of the HTTP sources are not needed here.
 */
export function createScheduleHandler(runtimeOf: () => ScheduleRuntime, configOf: () => BridgeConfig = () => runtimeOf().runtime.config) {
  return middy<unknown, ScheduledRunResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(loadSecrets({ authOf: () => ({ ...configOf().auth, sources: {} }), secmasterOf: () => configOf().secmaster.credentials }))
    .handler((event, context) => handleScheduledEvent(event, context, runtimeOf));
}

/** Lambda handler for the EventBridge rules generated from the schedules file. */
export const handler = createScheduleHandler(getScheduleRuntime, getConfig);
