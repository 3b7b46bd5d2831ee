import { createHash, createHmac, timingSafeEqual } from "node:crypto";

function sha256(text: string | Uint8Array): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Returns true when `candidate` equals one of `secrets`. Both sides are hashed to equal-length
 * SHA-256 digests and compared with `crypto.timingSafeEqual`, and every secret is compared, so
 * the time taken does not depend on where a difference lies or which secret matched.
 */
export function matchesAnySecret(candidate: string, secrets: readonly string[]): boolean {
  const candidateDigest = sha256(candidate);
  let matched = false;
  for (const secret of secrets) {
    const equal = timingSafeEqual(candidateDigest, sha256(secret));
    matched = equal || matched;
  }
  return matched;
}

/**
 * Returns true when `signature` is the HMAC-SHA256 of `content` under one of `keys`, comparing
 * the 32-byte digests in constant time and always computing every key's digest.
 */
export function hmacMatchesAny(content: Uint8Array, signature: Uint8Array, keys: readonly string[]): boolean {
  let matched = false;
  for (const key of keys) {
    const expected = createHmac("sha256", key).update(content).digest();
    const equal = signature.length === expected.length && timingSafeEqual(expected, signature);
    matched = equal || matched;
  }
  return matched;
}
