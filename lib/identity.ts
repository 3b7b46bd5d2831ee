import { Buffer } from "node:buffer";
import { parse as parseUuid, v5 as uuidv5 } from "uuid";

/**
 * Namespace of every `action_instance_id` the bridge derives. Changing it changes every id and
 * breaks idempotency across a deployment, so it is fixed for good.
 */
export const ACTION_INSTANCE_NAMESPACE = "6f1d7c52-8a3e-5b0f-9c4e-2d7a1b3e5f60";

// Parsed once: uuid's v5 parses a namespace string again on every call.
const NAMESPACE_BYTES = parseUuid(ACTION_INSTANCE_NAMESPACE);

/** Version tag inside the hashed name; bump only together with a documented migration. */
export const IDENTITY_VERSION = "secmaster-bridge/identity/v1";

/** The parts that identify one alert episode sent to one workflow. */
export interface IdentityParts {
  source: string;
  scope: string;
  key: string;
  episode: string;
  workflowId: string;
}

/**
 * Returns the canonical name hashed into the id: the version tag followed by the parts as a JSON
 * array, so that no choice of separator inside a part can make two identities collide.
 */
export function canonicalIdentity(parts: IdentityParts): string {
  return JSON.stringify([IDENTITY_VERSION, parts.source, parts.scope, parts.key, parts.episode, parts.workflowId]);
}

/**
 * Derives the `action_instance_id` for an alert episode and a workflow as a UUIDv5. Repeats of
 * the same episode give the same id, so SecMaster and the idempotency store see one instance.
 */
export function actionInstanceId(parts: IdentityParts): string {
  // Node's UTF-8 encoder gives the same bytes as uuid's own string conversion, in half the time.
  return uuidv5(Buffer.from(canonicalIdentity(parts), "utf8"), NAMESPACE_BYTES);
}
