import fc from "fast-check";
import { v5 as uuidv5 } from "uuid";
import { describe, expect, it } from "vitest";
import { ACTION_INSTANCE_NAMESPACE, actionInstanceId, canonicalIdentity } from "../../lib/identity";

// Expected ids computed independently with Python 3:
// uuid.uuid5(uuid.UUID(namespace), json.dumps(["secmaster-bridge/identity/v1", *parts],
//            ensure_ascii=False, separators=(",", ":")))
describe("actionInstanceId pinned ids", () => {
  it.each([
    [
      "ASCII parts",
      { source: "alertmanager", scope: "", key: "5b0f5b2d5f635dca", episode: "2024-05-14T08:02:11.482Z", workflowId: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" },
      "0b79d96a-89b6-5bd6-a373-8eead3e5a201",
    ],
    [
      "non-ASCII parts and JSON escapes",
      { source: "generic", scope: "租户-东区", key: '告警 éè 🔥 "quoted" back\\slash', episode: "", workflowId: "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee" },
      "0af2b820-589c-59b4-b01e-e2d431816ca8",
    ],
    [
      "name longer than 4 KiB",
      { source: "splunk", scope: "https://splunk.example.com:8000", key: "k".repeat(5000), episode: "", workflowId: "cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee" },
      "ceba4fab-a672-5461-bcfc-8c827df353d3",
    ],
  ])("%s", (_case, parts, expected) => {
    expect(actionInstanceId(parts)).toBe(expected);
  });

  it("same id after a longer name", () => {
    const short = { source: "a", scope: "", key: "k", episode: "", workflowId: "w" };
    const before = actionInstanceId(short);
    actionInstanceId({ ...short, key: "x".repeat(1000) });

    expect(actionInstanceId(short)).toBe(before);
  });
});

describe("canonicalIdentity against JSON.stringify", () => {
  it("equals JSON.stringify of the parts", () => {
    const part = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom('"', "\\", "\n", "\u001f", "\u007f", "\u2028", "\ud800", "\udfff", "😀"));
    fc.assert(
      fc.property(fc.record({ source: part, scope: part, key: part, episode: part, workflowId: part }), (parts) => {
        const expected = JSON.stringify(["secmaster-bridge/identity/v1", parts.source, parts.scope, parts.key, parts.episode, parts.workflowId]);
        expect(canonicalIdentity(parts)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("actionInstanceId against the uuid package", () => {
  it("equals uuid v5 of the canonical name", () => {
    const part = fc.string({ unit: "binary", maxLength: 1500 });
    fc.assert(
      fc.property(fc.record({ source: part, scope: part, key: part, episode: part, workflowId: part }), (parts) => {
        expect(actionInstanceId(parts)).toBe(uuidv5(canonicalIdentity(parts), ACTION_INSTANCE_NAMESPACE));
      }),
      { numRuns: 300 },
    );
  });
});
