import type { BridgeConfig } from "./config";
import { createIngestRuntime, type IngestRuntime, type RuntimeOverrides } from "./ingest-runtime";
import { createStartParts, type StartParts } from "./start-runtime";

// Moved to the ingest runtime, which the queue-mode ingest function uses alone; kept for importers.
export { checkSourceOptions, loadGenericSources, type RuntimeOverrides } from "./ingest-runtime";

/**
 * Long-lived objects of one Lambda execution environment or one local process: the ingest runtime
 * plus the SecMaster clients and the idempotent starter that start jobs. The dispatch function
 * needs only the second half, `createStartRuntime` of `lib/start-runtime.ts`.
 */
export interface Runtime extends IngestRuntime, StartParts {
  starter: StartParts["starter"];
  close(): Promise<void>;
}

/**
 * Builds the runtime from a parsed configuration. Reuse it across invocations.
 *
 * @throws ConfigError in queue mode when neither `BRIDGE_QUEUE_URL` nor an override names a queue.
 */
export function createRuntime(config: BridgeConfig, overrides: RuntimeOverrides = {}): Runtime {
  const base = createIngestRuntime(config, overrides);
  const parts = createStartParts(config);
  return {
    ...base,
    ...parts,
    close: async () => {
      await parts.close();
      await base.close();
    },
  };
}
