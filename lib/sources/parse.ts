import type * as z from "zod";
import { InvalidInputError } from "../errors";

/**
 * Formats a zod issue path the way users read JSON paths: `alerts[3].startsAt`.
 * An empty path means the whole body.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(body)" : out;
}

/**
 * Parses a delivery with a source's schema. A custom issue may carry its own fix as
 * `params.fix`, as the generic sources' schemas do, because they have no page of their own.
 *
 * @throws InvalidInputError `BRIDGE.PAYLOAD_INVALID` (422) naming the first failing field and
 *   what the schema expected there.
 */
export function parsePayload<T>(schema: z.ZodType<T>, body: unknown, source: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const field = formatPath(issue?.path ?? []);
  const reason = issue?.message ?? "invalid value";
  const fix = issue?.code === "custom" && typeof issue.params?.fix === "string" ? issue.params.fix : undefined;
  return failPayload(source, field, reason, result.error, fix);
}

function failPayload(source: string, field: string, reason: string, cause: unknown, fix: string | undefined): never {
  throw new InvalidInputError("BRIDGE.PAYLOAD_INVALID", `invalid ${source} payload at ${field}: ${reason}`, {
    field,
    cause,
    fix: fix ?? `send the ${source} sender's documented payload; see docs/sources/${source}.md`,
  });
}

/**
 * Rejects an alert that has no stable identity. The bridge never invents a random id, because a
 * random id would start a new playbook on every retry of the same delivery.
 *
 * @param details.problem What is missing, when more than `field` (default: `<field> is missing or empty`).
 * @param details.fix What to change, for a source whose mapping can supply an identity.
 */
export function missingIdentity(source: string, field: string, details: { problem?: string; fix?: string } = {}): never {
  throw new InvalidInputError("BRIDGE.IDENTITY_MISSING", `${source} alert has no stable identity: ${details.problem ?? `${field} is missing or empty`}`, {
    field,
    fix: details.fix ?? `make the sender include ${field}, or use the generic source with an identity mapping`,
  });
}
