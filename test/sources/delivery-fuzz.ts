import fc from "fast-check";
import { expect } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { BridgeError } from "../../lib/errors";
import { actionInstanceId } from "../../lib/identity";
import { parsePayload } from "../../lib/sources/parse";
import type { NormalizedAlert, SourceAdapter } from "../../lib/sources/types";
import { GOLDEN_WORKFLOW_ID, recordingContext } from "./normalize-context";

/** Receipt time used by the golden tests of the cloud and Wazuh sources. */
export const RECEIVED_AT = "2024-05-14T16:00:00.000Z";

/** Parses a body with the adapter's schema and normalizes it at {@link RECEIVED_AT}. */
export function normalizeBody<Payload>(adapter: SourceAdapter<Payload>, body: unknown, options?: unknown): NormalizedAlert[] {
  const payload = parsePayload(adapter.schema, body, adapter.id);
  return adapter.normalize(payload, recordingContext(RECEIVED_AT, options));
}

/** Returns the `action_instance_id` of an alert for the golden workflow id. */
export function idOf(alert: NormalizedAlert | undefined): string {
  if (alert === undefined) throw new Error("expected an alert, got none");
  return actionInstanceId({ ...alert, workflowId: GOLDEN_WORKFLOW_ID });
}

/** Runs `action` and returns the error it throws; fails when it throws nothing. */
export function caught(action: () => unknown): BridgeError {
  try {
    action();
  } catch (error) {
    return error as BridgeError;
  }
  throw new Error("expected an error, but the call returned");
}

/** Asserts that every alert passes the Alert schema and has a non-empty key. */
export function checkAlerts(alerts: NormalizedAlert[]): void {
  for (const alert of alerts) {
    expect(alertSchema.safeParse(alert.content).success).toBe(true);
    expect(alert.key).not.toBe("");
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Lists every path to a value inside a JSON document, the root excluded. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => paths.push([...prefix, index], ...pathsOf(item, [...prefix, index])));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) paths.push([...prefix, key], ...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

/** Replaces (or, with `undefined`, deletes) the value at `path` in a deep copy of `document`. */
function withValueAt(document: Json, path: Array<string | number>, replacement: Json | undefined): Json {
  const copy = structuredClone(document);
  let parent: Json = copy;
  for (const segment of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[segment] as Json;
  const last = path[path.length - 1] as string | number;
  const container = parent as Record<string | number, Json>;
  if (replacement === undefined) {
    if (Array.isArray(container)) container.splice(last as number, 1);
    else delete container[last];
  } else {
    container[last] = replacement;
  }
  return copy;
}

const replacementValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom("", "0001-01-01T00:00:00Z", "2024-05-14T09:31:07.405+0000", "not a time", "{", "[]", "{}"),
  fc.jsonValue({ maxDepth: 2 }),
) as fc.Arbitrary<Json | undefined>;

/** Deliveries made from `document` by replacing or deleting one to three values anywhere inside it. */
export function mutatedDocument(document: Json): fc.Arbitrary<Json> {
  const paths = pathsOf(document);
  const mutation = fc.tuple(fc.constantFrom(...paths), replacementValue);
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    let current = document;
    for (const [path, replacement] of mutations) {
      try {
        current = withValueAt(current, path, replacement);
      } catch {
        // An earlier mutation removed this path's parent; skip it.
      }
    }
    return current;
  });
}

/**
 * Asserts that parsing and normalizing `body` either succeeds with alerts that pass the Alert
 * schema or fails with a `BridgeError` whose code starts with `BRIDGE.`.
 */
export function expectOnlyBridgeErrors<Payload>(adapter: SourceAdapter<Payload>, body: unknown, check: (alerts: NormalizedAlert[]) => void): void {
  let alerts: NormalizedAlert[];
  try {
    alerts = normalizeBody(adapter, body);
  } catch (error) {
    expect(error).toBeInstanceOf(BridgeError);
    expect((error as BridgeError).code).toMatch(/^BRIDGE\./);
    return;
  }
  check(alerts);
}

/** Random JSON values, objects with the keys the adapters branch on, and arbitrary objects. */
export function randomDelivery(keys: readonly string[]): fc.Arbitrary<unknown> {
  const shaped = fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), { maxKeys: keys.length });
  return fc.oneof(fc.jsonValue({ maxDepth: 4 }), shaped, fc.anything({ maxDepth: 3 }));
}
