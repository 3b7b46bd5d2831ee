import { describe, expect, it } from "vitest";
import { BUILT_IN_SOURCES } from "../lib/sources/index";
import { lazily } from "../lib/lazy";

describe("lazily", () => {
  it("runs the builder on the first call only", () => {
    let runs = 0;
    const value = lazily(() => {
      runs += 1;
      return { built: runs };
    });

    expect(runs).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(first).toStrictEqual({ built: 1 });
    expect(runs).toBe(1);
  });

  it("runs a builder that threw again", () => {
    let runs = 0;
    const value = lazily(() => {
      runs += 1;
      if (runs === 1) throw new Error("first build failed");
      return runs;
    });

    expect(() => value()).toThrow("first build failed");
    expect(value()).toBe(2);
    expect(value()).toBe(2);
  });

  it("keeps an undefined result", () => {
    let runs = 0;
    const value = lazily(() => {
      runs += 1;
      return undefined;
    });

    expect(value()).toBeUndefined();
    expect(value()).toBeUndefined();
    expect(runs).toBe(1);
  });
});

describe("built-in source schemas", () => {
  // parseSourceOptions caches parsed settings per schema object, so a schema rebuilt on each
  // read would parse the options again for every delivery.
  it.each(Object.keys(BUILT_IN_SOURCES))("%s returns one schema object on every read", (id) => {
    const adapter = BUILT_IN_SOURCES[id];
    expect(adapter).toBeDefined();
    expect(adapter?.schema).toBe(adapter?.schema);
    expect(adapter?.optionsSchema).toBe(adapter?.optionsSchema);
  });
});
