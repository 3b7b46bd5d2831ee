import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BridgeError } from "../../lib/errors";
import { alertmanagerSource } from "../../lib/sources/alertmanager";
import { createGenericAdapter, loadGenericMapping } from "../../lib/sources/generic";
import { parsePayload } from "../../lib/sources/parse";
import type { SourceAdapter } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { recordingContext } from "./normalize-context";

/** Parses and normalizes; returns the error code, or "ok". Anything but a BridgeError escapes. */
function outcomeOf(adapter: SourceAdapter, body: unknown): string {
  try {
    const alerts = adapter.normalize(parsePayload(adapter.schema, body, adapter.id), recordingContext("2024-05-14T12:00:00.000Z"));
    expect(Array.isArray(alerts)).toBe(true);
    return "ok";
  } catch (error) {
    if (error instanceof BridgeError) return error.code;
    throw error;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Lists the paths of every value inside a JSON document, the root included. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const paths = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

/** Returns a copy of `document` with the value at one path replaced or removed. */
function mutate(document: Json, pick: number, replacement: Json, remove: boolean): Json {
  const copy = structuredClone(document);
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0) return replacement;

  let parent: Json = copy;
  for (const segment of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[segment] as Json;
  const last = path[path.length - 1] as string | number;
  const container = parent as Record<string | number, Json>;
  if (remove && Array.isArray(parent)) parent.splice(last as number, 1);
  else if (remove) delete container[last];
  else container[last] = replacement;
  return copy;
}

const mutation = fc.tuple(fc.nat(), fc.jsonValue() as fc.Arbitrary<Json>, fc.boolean());

function expectOnlyBridgeCodes(adapter: SourceAdapter, bodies: fc.Arbitrary<unknown>): void {
  fc.assert(
    fc.property(bodies, (body) => {
      expect(outcomeOf(adapter, body)).toMatch(/^(ok|BRIDGE\.[A-Z_]+)$/);
    }),
  );
}

function mutationsOf(fixture: string): fc.Arbitrary<Json> {
  const document = readJsonFixture<Json>(fixture);
  return mutation.map(([pick, replacement, remove]) => mutate(document, pick, replacement, remove));
}

describe("alertmanager adapter on random input", () => {
  const adapter = alertmanagerSource as SourceAdapter;

  it("fails only with bridge codes on random JSON", () => {
    expectOnlyBridgeCodes(adapter, fc.jsonValue());
  });

  it("fails only with bridge codes on mutated fixtures", () => {
    expectOnlyBridgeCodes(adapter, mutationsOf("payloads/alertmanager-firing-group.json"));
    expectOnlyBridgeCodes(adapter, mutationsOf("alertmanager/label-mapping-variety.json"));
  });
});

describe("generic adapters on random input", () => {
  const idp = createGenericAdapter(loadGenericMapping(readJsonFixture("payloads/generic-mapping-config.json"))) as SourceAdapter;
  const edgeFw = createGenericAdapter(loadGenericMapping(readJsonFixture("generic/edge-fw-cef-mapping.json"))) as SourceAdapter;
  const edgeWaf = createGenericAdapter(loadGenericMapping(readJsonFixture("generic/edge-waf-cef-json-mapping.json"))) as SourceAdapter;

  it("fails only with bridge codes on random JSON", () => {
    expectOnlyBridgeCodes(idp, fc.jsonValue());
    expectOnlyBridgeCodes(edgeFw, fc.jsonValue());
    expectOnlyBridgeCodes(edgeWaf, fc.jsonValue());
  });

  it("fails only with bridge codes on mutated fixtures", () => {
    expectOnlyBridgeCodes(idp, mutationsOf("generic/custom-idp-batch.json"));
    expectOnlyBridgeCodes(edgeWaf, mutationsOf("payloads/generic-cef-like-json.json"));
    expectOnlyBridgeCodes(edgeFw, mutationsOf("payloads/generic-cef-line-in-json.json"));
  });

  it("fails only with bridge codes on mangled CEF lines", () => {
    const { message } = readJsonFixture<{ message: string }>("payloads/generic-cef-line-in-json.json");
    const mangled = fc
      .tuple(fc.nat({ max: message.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 30 }))
      .map(([start, length, insert]) => ({ message: message.slice(0, start) + insert + message.slice(start + length) }));

    expectOnlyBridgeCodes(edgeFw, mangled);
  });
});
