import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import type { BridgeError } from "../../lib/errors";
import { actionInstanceId } from "../../lib/identity";
import { parsePayload } from "../../lib/sources/parse";
import type { NormalizedAlert, SourceAdapter } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { expectOnlyBridgeErrors, mutatedDocument, randomDelivery, RECEIVED_AT } from "./delivery-fuzz";
import { GOLDEN_WORKFLOW_ID, recordingContext, type UnknownSeverityCall } from "./normalize-context";

/** A JSON fixture that tests edit freely before normalizing it. */
export type Json = any;

/** Reads a JSON fixture under `test/fixtures/` for editing. */
export function fixture(path: string): Json {
  return readJsonFixture<Json>(path);
}

/** Returns the `action_instance_id` of an alert for the golden workflow. */
export function idOf(alert: NormalizedAlert | undefined): string {
  if (alert === undefined) throw new Error("expected an alert");
  return actionInstanceId({ ...alert, workflowId: GOLDEN_WORKFLOW_ID });
}

/** Runs `action` and returns the error it throws; fails the test when it throws nothing. */
export function caught(action: () => unknown): BridgeError {
  try {
    action();
  } catch (error) {
    return error as BridgeError;
  }
  throw new Error("expected an error");
}

/**
 * Parses and normalizes `body` at `RECEIVED_AT` and returns the alerts with the calls of
 * `unknownSeverity`, which returns `Low`.
 */
export function normalizeRecorded<Payload>(
  adapter: SourceAdapter<Payload>,
  body: unknown,
  options?: unknown,
): { alerts: NormalizedAlert[]; unknownCalls: UnknownSeverityCall[] } {
  const context = recordingContext(RECEIVED_AT, options);
  const alerts = adapter.normalize(parsePayload(adapter.schema, body, adapter.id), context);
  return { alerts, unknownCalls: context.unknownCalls };
}

function expectValidContent(alerts: NormalizedAlert[]): void {
  for (const alert of alerts) expect(alertSchema.safeParse(alert.content).success).toBe(true);
}

/**
 * Declares the property tests of an adapter: random deliveries built around `keys`, and
 * deliveries made by mutating each fixture, may only fail with `BRIDGE.*` errors, and every
 * alert they produce must pass the Alert schema.
 */
export function describeDeliveryProperties<Payload>(
  adapter: SourceAdapter<Payload>,
  keys: readonly string[],
  fixturePaths: readonly string[],
): void {
  describe(`${adapter.id} source properties`, () => {
    it("random deliveries fail with BRIDGE codes", () => {
      fc.assert(
        fc.property(randomDelivery(keys), (body) => {
          expectOnlyBridgeErrors(adapter, body, expectValidContent);
        }),
        { numRuns: 300 },
      );
    });

    it.each(fixturePaths)("mutations of %s fail with BRIDGE codes", (path) => {
      fc.assert(
        fc.property(mutatedDocument(fixture(path)), (body) => {
          expectOnlyBridgeErrors(adapter, body, expectValidContent);
        }),
        { numRuns: 200 },
      );
    });
  });
}
