import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BridgeError } from "../../lib/errors";
import {
  cefDescription,
  cefIdentity,
  cefLabels,
  cefRecord,
  CefSyntaxError,
  joinIdentityParts,
  parseCefLine,
  parseCefRecord,
} from "../../lib/sources/cef";
import { formatLabels } from "../../lib/sources/labels";
import { readJsonFixture } from "../helpers/fixtures";

function syntaxErrorOf(line: string): CefSyntaxError {
  try {
    parseCefLine(line, { field: "message" });
  } catch (error) {
    if (error instanceof CefSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(line)} to be rejected`);
}

describe("parseCefLine", () => {
  it("parses the relayed fixture line", () => {
    const { message } = readJsonFixture<{ message: string }>("payloads/generic-cef-line-in-json.json");

    expect(parseCefLine(message)).toEqual({
      version: 0,
      deviceVendor: "ExampleCorp",
      deviceProduct: "EdgeFW",
      deviceVersion: "9.1",
      signatureId: "100234",
      name: "Port scan detected | external",
      severity: "7",
      extensions: {
        src: "198.51.100.90",
        dst: "192.0.2.15",
        proto: "TCP",
        cnt: "312",
        rt: "May 14 2024 11:07:11 UTC",
        cs1Label: "zone",
        cs1: "dmz",
        msg: "Scan from 198.51.100.90 across 312 ports; filter=syn-only",
      },
    });
  });

  it("decodes header escapes", () => {
    const event = parseCefLine("CEF:0|Ven\\|dor|Pro\\\\duct|1.0|sig|Name with \\d|5|");

    expect(event.deviceVendor).toBe("Ven|dor");
    expect(event.deviceProduct).toBe("Pro\\duct");
    expect(event.name).toBe("Name with \\d");
    expect(event.extensions).toEqual({});
  });

  it("decodes extension escapes", () => {
    const event = parseCefLine("CEF:0|V|P|1|s|n|5|a=x\\=y b=line1\\nline2 c=back\\\\slash d=cr\\r e=pipe\\|");

    expect(event.extensions).toEqual({ a: "x=y", b: "line1\nline2", c: "back\\slash", d: "cr\r", e: "pipe|" });
  });

  it("keeps spaces inside values", () => {
    const event = parseCefLine("CEF:1|V|P|1|s|n|5|msg=hello  big world   src=10.0.0.1 suser=");

    expect(event.version).toBe(1);
    expect(event.extensions).toEqual({ msg: "hello  big world", src: "10.0.0.1", suser: "" });
  });

  it("keeps a bare equals sign inside a value", () => {
    const event = parseCefLine("CEF:0|V|P|1|s|n|5|request=https://a.example/?q=1&r=2 src=10.0.0.1");

    expect(event.extensions).toEqual({ request: "https://a.example/?q=1&r=2", src: "10.0.0.1" });
  });

  it("skips a syslog header and a line break", () => {
    const event = parseCefLine("<134>May 14 11:07:11 relay-01 CEF:0|V|P|1|s|n|High|src=10.0.0.1\r\n");

    expect(event.severity).toBe("High");
    expect(event.extensions).toEqual({ src: "10.0.0.1" });
  });

  it("keeps prototype keys as plain data", () => {
    const event = parseCefLine("CEF:0|V|P|1|s|n|5|__proto__=x constructor=y");

    expect(Object.getPrototypeOf(event.extensions)).toBe(Object.prototype);
    expect(Object.keys(event.extensions)).toEqual(["__proto__", "constructor"]);
    expect(event.extensions.constructor).toBe("y");
  });

  it.each([
    ["no prefix", "LEEF:1.0|V|P|1|s|", 1],
    ["short header", "CEF:0|V|P|1", 12],
    ["bad version", "CEF:x|V|P|1|s|n|5|", 5],
    ["text before first key", "CEF:0|V|P|1|s|n|5|junk here a=b", 30],
    ["value without key", "CEF:0|V|P|1|s|n|5|=b", 19],
    ["text without pairs", "CEF:0|V|P|1|s|n|5|just words", 19],
  ])("rejects %s with its column", (_case, line, column) => {
    const error = syntaxErrorOf(line);

    expect(error.code).toBe("BRIDGE.CEF_INVALID");
    expect(error.column).toBe(column);
    expect(error.field).toBe("message");
    expect(error.statusCode).toBe(422);
  });

  it("round-trips escaped header and extension values", () => {
    const headerValue = fc.string({ unit: "grapheme", maxLength: 20 });
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,11}$/);
    // Trailing spaces of a value are dropped because they cannot be distinguished from separators.
    const value = fc.string({ unit: "grapheme", maxLength: 30 }).filter((text) => !text.endsWith(" "));
    const escapeHeader = (text: string) => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
    const escapeValue = (text: string) =>
      text.replace(/\\/g, "\\\\").replace(/=/g, "\\=").replace(/\n/g, "\\n").replace(/\r/g, "\\r");

    fc.assert(
      fc.property(fc.array(headerValue, { minLength: 6, maxLength: 6 }), fc.dictionary(key, value), (header, extensions) => {
        const pairs = Object.entries(extensions).map(([name, text]) => `${name}=${escapeValue(text)}`);
        const line = `CEF:0|${header.map(escapeHeader).join("|")}|${pairs.join(" ")}`;

        const event = parseCefLine(line);

        expect([event.deviceVendor, event.deviceProduct, event.deviceVersion, event.signatureId, event.name]).toEqual(header.slice(0, 5));
        expect(event.severity).toBe((header[5] ?? "").trim());
        expect(event.extensions).toEqual(extensions);
      }),
    );
  });

  it("throws only CEF_INVALID for random lines", () => {
    const anyLine = fc.oneof(fc.string(), fc.string().map((rest) => `CEF:0|${rest}`), fc.string().map((rest) => `CEF:0|V|P|1|s|n|5|${rest}`));

    fc.assert(
      fc.property(anyLine, (line) => {
        try {
          parseCefLine(line);
        } catch (error) {
          expect(error).toBeInstanceOf(BridgeError);
          expect((error as BridgeError).code).toBe("BRIDGE.CEF_INVALID");
        }
      }),
    );
  });
});

describe("parseCefLine extension edge cases", () => {
  it.each([
    ["CEF:0|V|P|1|sig|name|5|a=1 b=two words  c=x\\=y d=\\\\ e=end   ", { a: "1", b: "two words", c: "x=y", d: "\\", e: "end" }],
    ["CEF:0|V|P|1|sig|name|5|url=https://a.example/?q=1&r=2 k2=v", { url: "https://a.example/?q=1&r=2", k2: "v" }],
    ["CEF:0|V|P|1|sig|name|5|msg=line1\\nline2\\r k\\=x=1 z=2", { msg: "line1\nline2\r k=x=1", z: "2" }],
    ["CEF:0|V|P|1|sig|name|5|  a=1", { a: "1" }],
    ["CEF:0|V|P|1|sig|name|5|a= b=  c=3", { a: "", b: "", c: "3" }],
    ["CEF:0|V|P|1|sig|name|5|a=1 =2 b=3", { a: "1 =2", b: "3" }],
    ["CEF:0|V|P|1|sig|name|5|a=x\\ y b=\\q", { a: "x\\ y", b: "\\q" }],
    ["CEF:0|V|P|1|sig|name|5|a=1 b.c-d_e=2 9z=3 -x=4", { a: "1", "b.c-d_e": "2", "9z": "3 -x=4" }],
    ["<13>May 14 host CEF:0|V|P|1|sig|name|5|a=1 a=2 a=3\r\n", { a: "3" }],
    ["CEF:0|V|P|1|sig|name|5|a=1\\\\ b=2", { a: "1\\", b: "2" }],
    ["CEF:0|V|P|1|sig|name|5|a=\\= b=\\\\=c", { a: "=", b: "\\=c" }],
    ["CEF:0|V|P|1|sig|name|5| \\n k=v", { k: "v" }],
    ["CEF:0|V|P|1|sig|name|5|k=v \\", { k: "v \\" }],
    ["CEF:0|V|P|1|sig|name|5|k=a\\nb\\rc\\|d\\x", { k: "a\nb\rc|d\\x" }],
    ["CEF:0|V|P|1|sig|name|5|k=\\\\\\= z=1", { k: "\\=", z: "1" }],
    ["CEF:0|V|P|1|sig|name|5|k==v", { k: "=v" }],
    ["CEF:0|V|P|1|sig|name|5|k=v  w=x=y  ", { k: "v", w: "x=y" }],
  ])("parses %j", (line, extensions) => {
    expect(parseCefLine(line).extensions).toStrictEqual(extensions);
  });

  it("keeps the order of first appearance", () => {
    expect(Object.keys(parseCefLine("CEF:0|V|P|1|s|n|5|b=1 a=2 b=3 c=4").extensions)).toStrictEqual(["b", "a", "c"]);
  });

  it.each([
    ["CEF:1|Ve\\|ndor|Pro\\\\d|1.0|s\\x|na|me|High|", 37],
    ["CEF:0|V|P|1|sig|name|5|junk", 24],
    ["CEF:0|V|P|1|sig|name|5|x y=1", 27],
    ["CEF:0|V|P|1|sig", 16],
    ["<13>May 14 host CEF:0|V|P|1|sig|name|5|x y=1", 43],
    ["host CEF:0|V|P|1|sig|name|5|just text", 29],
    ["host CEF:0|V|P|1|sig|name|5|a\\=b=1", 33],
  ])("rejects %j at column %d", (line, column) => {
    expect(syntaxErrorOf(line).column).toBe(column);
  });

  it("decodes header escapes next to separators", () => {
    const event = parseCefLine("CEF:0|Ve\\|ndor|Pro\\\\d|1.0|s\\x|na\\\\|High|a=1");

    expect(event.deviceVendor).toBe("Ve|ndor");
    expect(event.deviceProduct).toBe("Pro\\d");
    expect(event.signatureId).toBe("s\\x");
    expect(event.name).toBe("na\\");
    expect(event.severity).toBe("High");
  });
});

describe("parseCefLine on long lines", () => {
  // A word that is not a key followed by many "=" was once scanned again for every "=", so the
  // first line took about 80 s (5 s with a quarter of its length). The other lines guard the
  // other searches of the scan, which must also move forward only.
  it.each([
    ["a long word that is not a key", `CEF:0|V|P|1|s|n|5|k=v ${"a".repeat(200_000)}#${"=".repeat(200_000)}`],
    ["many values before one backslash", `CEF:0|V|P|1|s|n|5|${"k=v ".repeat(100_000)}\\`],
    ["many escaped equals signs", `CEF:0|V|P|1|s|n|5|k=${"\\\\\\=".repeat(100_000)}`],
  ])("parses %s in linear time", (_case, line) => {
    const started = performance.now();

    parseCefLine(line);

    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("parseCefRecord", () => {
  const anyLine = fc.oneof(
    fc.string(),
    fc.string().map((rest) => `CEF:0|V|P|1|s|n|5|${rest}`),
    fc
      .array(fc.constantFrom("a", "k", "1", "_", ".", "-", "=", " ", "\\", "|", "n", "__proto__", "name", "version", "cs1="), { maxLength: 30 })
      .map((pieces) => `CEF:1|V\\|x|P|1|s|n|High|${pieces.join("")}`),
  );

  it("builds the record of the parsed event", () => {
    fc.assert(
      fc.property(anyLine, (line) => {
        let expected: Record<string, unknown> | CefSyntaxError;
        try {
          expected = cefRecord(parseCefLine(line, { field: "message" }));
        } catch (error) {
          expected = error as CefSyntaxError;
        }

        if (expected instanceof Error) {
          expect(() => parseCefRecord(line, { field: "message" })).toThrow(expected.message);
        } else {
          const record = parseCefRecord(line, { field: "message" });
          expect(record).toStrictEqual(expected);
          expect(Object.keys(record)).toStrictEqual(Object.keys(expected));
        }
      }),
    );
  });

  it("lets header fields win over extension keys", () => {
    const record = parseCefRecord("CEF:0|V|P|1|sig|Name|5|name=ext version=9 src=10.0.0.1");

    expect(record).toStrictEqual({ name: "Name", version: 0, src: "10.0.0.1", deviceVendor: "V", deviceProduct: "P", deviceVersion: "1", deviceEventClassId: "sig", severity: "5" });
    expect(Object.keys(record)).toStrictEqual(["name", "version", "src", "deviceVendor", "deviceProduct", "deviceVersion", "deviceEventClassId", "severity"]);
  });
});

describe("CEF record helpers", () => {
  const record = cefRecord(
    parseCefLine(
      "CEF:0|ExampleCorp|EdgeWAF|5.2.1|942100|SQLi|8|act=blocked cs2=prod-strict cs2Label=policy cs4=x request=/search?q\\=1 requestMethod=GET msg=SQL tautology",
    ),
  );

  it("flattens header and extensions", () => {
    expect(record).toEqual({
      version: 0,
      deviceVendor: "ExampleCorp",
      deviceProduct: "EdgeWAF",
      deviceVersion: "5.2.1",
      deviceEventClassId: "942100",
      name: "SQLi",
      severity: "8",
      act: "blocked",
      cs2: "prod-strict",
      cs2Label: "policy",
      cs4: "x",
      request: "/search?q=1",
      requestMethod: "GET",
      msg: "SQL tautology",
    });
  });

  it("builds labels from custom slots", () => {
    expect(cefLabels(record)).toBe("act=blocked,cs4=x,policy=prod-strict,signature_id=942100");
    expect(cefLabels({})).toBeUndefined();
  });

  it("keeps the last value of a repeated label", () => {
    expect(cefLabels({ cs1: "a", cs1Label: "zone", cs2: "b", cs2Label: "zone", act: "x", cs3: "c", cs3Label: "act" })).toBe("act=x,zone=b");
    expect(cefLabels({ cs1: "a", cs1Label: "__proto__", cn1: 7 })).toBe("__proto__=a,cn1=7");
  });

  it("matches formatLabels of a label object", () => {
    const slot = fc.constantFrom("cs1", "cs2", "cs3", "cs6", "cn1", "cn3");
    const name = fc.constantFrom("zone", "Zone", "act", "signature_id", "__proto__", "10", "2", "é", "a b", "");
    const fields = fc.dictionary(fc.oneof(slot, slot.map((key) => `${key}Label`), fc.constantFrom("act", "deviceEventClassId")), fc.oneof(name, fc.integer()));

    fc.assert(
      fc.property(fields, (record) => {
        // The labels as an object, in the order in which cefLabels documents them.
        const labels: Record<string, string> = {};
        const text = (value: string | number | undefined) => (value === "" || value === undefined ? undefined : String(value));
        for (const key of ["cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3"]) {
          const value = text(record[key]);
          if (value !== undefined) Object.defineProperty(labels, text(record[`${key}Label`]) ?? key, { value, enumerable: true, configurable: true, writable: true });
        }
        if (text(record.act) !== undefined) Object.defineProperty(labels, "act", { value: text(record.act), enumerable: true, configurable: true, writable: true });
        if (text(record.deviceEventClassId) !== undefined) {
          Object.defineProperty(labels, "signature_id", { value: text(record.deviceEventClassId), enumerable: true, configurable: true, writable: true });
        }

        expect(cefLabels(record)).toBe(Object.keys(labels).length === 0 ? undefined : formatLabels(labels));
      }),
    );
  });

  it("builds the description from msg and request", () => {
    expect(cefDescription(record)).toBe("SQL tautology\nRequest: GET /search?q=1");
    expect(cefDescription({ request: "/a" })).toBe("Request: /a");
    expect(cefDescription({})).toBeUndefined();
  });

  it("keys on externalId when present", () => {
    expect(cefIdentity({ ...record, externalId: "e-1", rt: "1715684834567" })).toEqual({ key: "ExampleCorp|EdgeWAF|e-1", episode: "" });
  });

  it("keys on the event tuple and rt otherwise", () => {
    expect(cefIdentity({ ...record, src: "203.0.113.61", rt: "1715684834567" })).toEqual({
      key: "ExampleCorp|EdgeWAF|942100|203.0.113.61|",
      episode: "1715684834567",
    });
    expect(cefIdentity(record)).toBeUndefined();
  });

  it("escapes separators inside identity parts", () => {
    expect(joinIdentityParts(["a|b", "c\\", "d"])).toBe("a\\|b|c\\\\|d");
    expect(joinIdentityParts(["a", "b|c"])).not.toBe(joinIdentityParts(["a|b", "c"]));
  });
});
