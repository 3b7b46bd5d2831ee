import { Logger } from "@aws-lambda-powertools/logger";
import { redactSecrets } from "./auth/redact";

/**
 * The bridge's structured logger. Messages are fixed text; ids go in keys (`actionInstanceId`,
 * `source`, `workflowId`, `attempt`). Payloads and secrets are never logged, and values under
 * credential-like keys (Authorization, tokens, AK/SK, passwords) are redacted as a second line
 * of defence.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "secmaster-bridge",
  logLevel: (process.env.LOG_LEVEL ?? "INFO").toUpperCase() as "INFO",
  jsonReplacerFn: redactSecrets,
});
