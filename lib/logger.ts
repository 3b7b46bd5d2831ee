import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The bridge's structured logger. Messages are fixed text; ids go in keys (`actionInstanceId`,
 * `source`, `workflowId`, `attempt`). Payloads and secrets are never logged.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "secmaster-bridge",
  logLevel: (process.env.LOG_LEVEL ?? "INFO").toUpperCase() as "INFO",
});
