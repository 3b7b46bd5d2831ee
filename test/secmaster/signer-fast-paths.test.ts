import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalUri, computeSignature, encodeRfc3986, formatSdkDate, signRequest } from "../../lib/secmaster/signer";

const ORIGIN = "https://secmaster.cn-north-4.myhuaweicloud.com";
const HEADERS = { "content-type": "application/json", "X-Sdk-Date": "20260115T083000Z" };

describe("encodeRfc3986", () => {
  it("keeps unreserved text as it is", () => {
    expect(encodeRfc3986("Az09-_.~")).toBe("Az09-_.~");
  });

  it("encodes the characters encodeURIComponent keeps", () => {
    expect(encodeRfc3986("!'()*")).toBe("%21%27%28%29%2A");
  });

  it("encodes multi-byte text as upper-case UTF-8 bytes", () => {
    expect(encodeRfc3986("ä 告😀")).toBe("%C3%A4%20%E5%91%8A%F0%9F%98%80");
  });

  it("encodes a lone surrogate as U+FFFD", () => {
    expect(encodeRfc3986("a\ud800b")).toBe("a%EF%BF%BDb");
  });
});

describe("canonicalUri fast path", () => {
  it("returns a path of unreserved segments with a trailing slash", () => {
    expect(canonicalUri("/v1/abc-1/x_y.z~")).toBe("/v1/abc-1/x_y.z~/");
  });

  it("escapes a path with a space", () => {
    expect(canonicalUri("/v1/plain")).toBe("/v1/plain/");
    expect(canonicalUri("/v1/pla in")).toBe("/v1/pla%2520in/");
  });
});

describe("signRequest caches", () => {
  it("sets the host of each URL", () => {
    const first = signRequest({ method: "GET", url: `${ORIGIN}/v1/a`, headers: HEADERS }, { accessKey: "AK1", secretKey: "sk-one" });
    const second = signRequest({ method: "GET", url: "http://127.0.0.1:9400/v1/b", headers: HEADERS }, { accessKey: "AK1", secretKey: "sk-one" });

    expect(first.host).toBe("secmaster.cn-north-4.myhuaweicloud.com");
    expect(second.host).toBe("127.0.0.1:9400");
  });

  it("uses the key of each call when keys alternate", () => {
    const request = { method: "POST", url: `${ORIGIN}/v1/p/instances`, headers: { ...HEADERS, host: "h" }, body: "{}" };
    const withOne = computeSignature(request, "sk-one");
    const withTwo = computeSignature(request, "sk-two");
    const withOneAgain = computeSignature(request, "sk-one");

    expect(withOne.signature).toBe(createHmac("sha256", "sk-one").update(withOne.stringToSign).digest("hex"));
    expect(withTwo.signature).toBe(createHmac("sha256", "sk-two").update(withTwo.stringToSign).digest("hex"));
    expect(withOneAgain.signature).toBe(withOne.signature);
  });

  it("keeps signing correctly after the URL cache fills", () => {
    for (let index = 0; index < 300; index++) {
      computeSignature({ method: "GET", url: `${ORIGIN}/v1/item-${index}`, headers: { ...HEADERS, host: "h" } }, "sk");
    }
    const parts = computeSignature({ method: "GET", url: `${ORIGIN}/v1/item 7`, headers: { ...HEADERS, host: "h" } }, "sk");

    expect(parts.canonicalRequest.split("\n")[1]).toBe("/v1/item%25207/");
  });
});

describe("formatSdkDate", () => {
  it("formats a four-digit year in the basic form", () => {
    expect(formatSdkDate(new Date("2026-01-15T08:30:05.123Z"))).toBe("20260115T083005Z");
  });

  it("formats a six-digit year without separators", () => {
    expect(formatSdkDate(new Date("+010000-01-15T08:30:05.000Z"))).toBe("+0100000115T083005Z");
  });
});

describe("formatSdkDate cache", () => {
  it("formats each second anew", () => {
    expect(formatSdkDate(new Date("2026-01-15T08:30:05.100Z"))).toBe("20260115T083005Z");
    expect(formatSdkDate(new Date("2026-01-15T08:30:05.900Z"))).toBe("20260115T083005Z");
    expect(formatSdkDate(new Date("2026-01-15T08:30:06.000Z"))).toBe("20260115T083006Z");
    expect(formatSdkDate(new Date("1999-12-31T23:59:59.999Z"))).toBe("19991231T235959Z");
  });

  it("rejects an invalid date", () => {
    expect(() => formatSdkDate(new Date(Number.NaN))).toThrow(RangeError);
  });
});
