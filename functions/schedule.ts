import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Context } from "aws-lambda";
import { loadConfig } from "../lib/config";
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

let current: ScheduleRuntime | undefined;

/** Builds the runtime and reads `BRIDGE_SCHEDULES_FILE` on first use. */
function getScheduleRuntime(): ScheduleRuntime {
  if (current !== undefined) return current;
  const config = loadConfig();
  if (config.schedulesFile === undefined) {
    throw new ConfigError(["BRIDGE_SCHEDULES_FILE: required by the schedule function; set it to the schedules file packaged with it"]);
  }
  const schedules = readSchedulesFile(config.schedulesFile);
  current = { runtime: createRuntime(config), schedules };
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
 * `action_instance_id`.
 */
export function createScheduleHandler(runtimeOf: () => ScheduleRuntime) {
  return middy<unknown, ScheduledRunResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) => handleScheduledEvent(event, context, runtimeOf));
}

/** Lambda handler for the EventBridge rules generated from the schedules file. */
export const handler = createScheduleHandler(getScheduleRuntime);
