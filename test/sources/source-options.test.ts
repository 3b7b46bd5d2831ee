import * as z from "zod";
import { describe, expect, it } from "vitest";
import type { ConfigError } from "../../lib/errors";
import { parseSourceOptions } from "../../lib/sources/common";

const schema = z.strictObject({ trigger: z.enum(["once", "per-result"]).default("per-result") });

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseSourceOptions", () => {
  it("applies defaults when options are absent", () => {
    expect(parseSourceOptions(schema, undefined, "test")).toStrictEqual({ trigger: "per-result" });
    expect(parseSourceOptions(schema, undefined, "test")).toStrictEqual({ trigger: "per-result" });
  });

  it("reads each options object", () => {
    expect(parseSourceOptions(schema, { trigger: "once" }, "test")).toStrictEqual({ trigger: "once" });
    expect(parseSourceOptions(schema, {}, "test")).toStrictEqual({ trigger: "per-result" });
  });

  it("returns the same settings for a repeated object", () => {
    const options = { trigger: "once" };

    const first = parseSourceOptions(schema, options, "test");

    expect(parseSourceOptions(schema, options, "test")).toStrictEqual(first);
  });

  it("rejects invalid options on every call", () => {
    const options = { trigger: "sometimes" };

    for (let call = 0; call < 2; call++) {
      const error = configErrorOf(() => parseSourceOptions(schema, options, "test"));
      expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
      expect(error.message).toContain("test source options at trigger");
    }
  });

  it("rejects options that are not an object", () => {
    expect(configErrorOf(() => parseSourceOptions(schema, "once", "test")).code).toBe("BRIDGE.CONFIG_INVALID");
  });
});
