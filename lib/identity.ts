import { Buffer } from "node:buffer";
import { hash } from "node:crypto";
import { parse as parseUuid } from "uuid";
import { quoteJsonString } from "./sources/json-path";

/**
 * Namespace of every `action_instance_id` the bridge derives. Changing it changes every id and
 * breaks idempotency across a deployment, so it is fixed for good.
 */
export const ACTION_INSTANCE_NAMESPACE = "6f1d7c52-8a3e-5b0f-9c4e-2d7a1b3e5f60";

const NAMESPACE_BYTES = parseUuid(ACTION_INSTANCE_NAMESPACE);

// UUIDv5 hashes the 16 namespace bytes followed by the UTF-8 name. This buffer keeps the
// namespace in front so that a name is written behind it instead of concatenated on every call.
// It is safe to reuse because hashing is synchronous.
const NAME_BUFFER_BYTES = 4096;
const nameBuffer = Buffer.alloc(NAME_BUFFER_BYTES);
nameBuffer.set(NAMESPACE_BYTES, 0);

/** Version tag inside the hashed name; bump only together with a documented migration. */
export const IDENTITY_VERSION = "secmaster-bridge/identity/v1";
const VERSION_JSON = JSON.stringify(IDENTITY_VERSION);

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
  // The same text as JSON.stringify of the array, without building the array.
  const { source, scope, key, episode, workflowId } = parts;
  return `[${VERSION_JSON},${quoteJsonString(source)},${quoteJsonString(scope)},${quoteJsonString(key)},${quoteJsonString(episode)},${quoteJsonString(workflowId)}]`;
}

/**
 * Derives the `action_instance_id` for an alert episode and a workflow as a UUIDv5. Repeats of
 * the same episode give the same id, so SecMaster and the idempotency store see one instance.
 */
export function actionInstanceId(parts: IdentityParts): string {
  return uuidV5Hex(hash("sha1", nameBytes(canonicalIdentity(parts)), "hex"));
}

/** Returns the namespace bytes followed by the UTF-8 bytes of `name`. */
function nameBytes(name: string): Buffer {
  // A UTF-16 code unit takes at most 3 UTF-8 bytes, so such a name always fits the name buffer.
  if (16 + name.length * 3 <= NAME_BUFFER_BYTES) return nameBuffer.subarray(0, 16 + nameBuffer.write(name, 16, "utf8"));
  return Buffer.concat([NAMESPACE_BYTES, Buffer.from(name, "utf8")]);
}

/** Formats the first 16 bytes of a lower-case hex SHA-1 digest as a version 5 UUID. */
function uuidV5Hex(digest: string): string {
  // Byte 6 starts at hex digit 12 and gets version 5 in its high nibble. Byte 8 starts at digit
  // 16, and the top two bits of its high nibble become 10.
  const variant = VARIANT_DIGITS[Number.parseInt(digest[16] ?? "0", 16) & 0x3];
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-5${digest.slice(13, 16)}-${variant}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
}

const VARIANT_DIGITS = ["8", "9", "a", "b"] as const;
