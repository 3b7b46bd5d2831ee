import { createRuntime, type Runtime } from "../lib/runtime";
import { credentialBoundCache } from "./credential-cache";

export { getConfig } from "./config";

const runtime = credentialBoundCache(createRuntime);

/**
 * Returns the full runtime of this execution environment, SecMaster clients included, built on
 * first use and rebuilt when a SecMaster credential fetched from SSM or Secrets Manager (by
 * `loadSecrets`) has changed. The functions that normalize and start alerts use it.
 */
export function getRuntime(): Runtime {
  return runtime.get();
}

/** Drops the cached runtime; the local server calls it on shutdown. */
export function resetRuntime(): Promise<void> {
  return runtime.reset();
}
