import type { BridgeConfig } from "../config";
import { PerProject } from "../routing/projects";
import { SecMasterClient } from "../secmaster/client";

/**
 * Makes SecMaster clients by project id for CLI commands, with the deployment's endpoint,
 * credentials and retry budget but without the Lambda runtime's metrics. Close every client
 * in `values()` when done.
 */
export function cliClients(secmaster: BridgeConfig["secmaster"]): PerProject<SecMasterClient> {
  return new PerProject(
    (projectId) =>
      new SecMasterClient({
        ...(secmaster.endpoint === undefined ? {} : { endpoint: secmaster.endpoint }),
        ...(secmaster.region === undefined ? {} : { region: secmaster.region }),
        projectId,
        credentials: secmaster.credentials,
        retry: { maxAttempts: secmaster.maxAttempts, deadlineMs: secmaster.timeoutMs },
      }),
  );
}
