import { createStartRuntime, type StartRuntime } from "../lib/start-runtime";
import { credentialBoundCache } from "./credential-cache";

export { getConfig } from "./config";

const runtime = credentialBoundCache((config) => createStartRuntime(config));

/**
 * Returns the start runtime of this execution environment (SecMaster clients, idempotency store
 * and job queues, without the ingest parts), built on first use and rebuilt when a SecMaster
 * credential fetched from SSM or Secrets Manager has changed. The dispatch function uses it.
 */
export function getStartRuntime(): StartRuntime {
  return runtime.get();
}

/** Drops the cached start runtime. */
export function resetStartRuntime(): Promise<void> {
  return runtime.reset();
}
