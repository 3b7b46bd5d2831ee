import { describe, expect, it } from "vitest";
import { actionInstanceId, canonicalIdentity } from "../lib/identity";

const PARTS = {
  source: "alertmanager",
  scope: "",
  key: "5b0f5b2d5f635dca",
  episode: "2024-05-14T08:02:11.482Z",
  workflowId: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
};

describe("actionInstanceId", () => {
  it("is pinned for a known alert", () => {
    // Computed independently with Python: uuid.uuid5(namespace, canonical name).
    expect(actionInstanceId(PARTS)).toBe(EXPECTED_ID);
  });

  it("is a version 5 UUID", () => {
    expect(actionInstanceId(PARTS)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("changes with each part", () => {
    const ids = new Set([
      actionInstanceId(PARTS),
      actionInstanceId({ ...PARTS, source: "grafana" }),
      actionInstanceId({ ...PARTS, scope: "org-1" }),
      actionInstanceId({ ...PARTS, key: "7b47d28377620826" }),
      actionInstanceId({ ...PARTS, episode: "2024-05-15T08:02:11.482Z" }),
      actionInstanceId({ ...PARTS, workflowId: "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee" }),
    ]);

    expect(ids.size).toBe(6);
  });

  it("cannot be forged by moving a separator between parts", () => {
    expect(actionInstanceId({ ...PARTS, scope: "a|b", key: "c" })).not.toBe(actionInstanceId({ ...PARTS, scope: "a", key: "b|c" }));
  });

  it("names the version in the canonical form", () => {
    expect(canonicalIdentity(PARTS)).toBe(
      '["secmaster-bridge/identity/v1","alertmanager","","5b0f5b2d5f635dca","2024-05-14T08:02:11.482Z","aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"]',
    );
  });
});

const EXPECTED_ID = "0b79d96a-89b6-5bd6-a373-8eead3e5a201";
