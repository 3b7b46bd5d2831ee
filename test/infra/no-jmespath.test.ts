import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

interface NoJmespath {
  PowertoolsFunctions: new () => object;
  search: (expression: string, data: unknown) => unknown;
}

const shim = createRequire(import.meta.url)("../../infra/shims/no-jmespath.cjs") as NoJmespath;

describe("JMESPath stand-in for the idempotency utility", () => {
  it("fails a search naming the fix", () => {
    expect(() => shim.search("actionInstanceId", { actionInstanceId: "a" })).toThrow(/key idempotency on a function argument instead of eventKeyJmesPath/);
  });

  it("builds the functions object the utility creates", () => {
    expect(new shim.PowertoolsFunctions()).toBeInstanceOf(shim.PowertoolsFunctions);
  });
});
