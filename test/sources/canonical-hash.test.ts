import { describe, expect, it } from "vitest";
import { canonicalHash } from "../../lib/sources/common";

// Expected digests computed with Python's hashlib.sha256 over the canonical text in each title.
describe("canonicalHash", () => {
  it('sorts keys: {"a":[1,"x",null,{"b":true,"c":"é"}],"z":"1"}', () => {
    expect(canonicalHash({ z: "1", a: [1, "x", null, { c: "é", b: true }] })).toBe("d9c5e2429db7b8d8e2f27d172779cb7a23ff696d8be63351a126e29d4e72a59d");
  });

  it("writes an array hole as nothing: [,1]", () => {
    const sparse: unknown[] = [];
    sparse[1] = 1;

    expect(canonicalHash(sparse)).toBe("2b3646f1ef5cf8b30a71b9e140e89b77da7eb4354ddc1f346f57ffc66ad68cd0");
  });

  it('writes an undefined value as null: {"u":null}', () => {
    expect(canonicalHash({ u: undefined })).toBe("c3d1ae1d67187792644a44ce3d81da79b9b297c4c68051e519ce20dc440451e3");
  });
});
