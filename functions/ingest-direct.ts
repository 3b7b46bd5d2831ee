import { createIngestHandler } from "./ingest";
import { getConfig, getRuntime } from "./runtime";

/**
 * Lambda handler for `POST /v1/alerts/{source}` in direct mode (`BRIDGE_MODE=direct`): the same
 * handler as `functions/ingest.ts` over the full runtime, which starts the workflows before it
 * responds. Its bundle carries the SecMaster client, undici and the idempotency store.
 */
export const handler = createIngestHandler(getRuntime, getConfig);
