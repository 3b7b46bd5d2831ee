import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/errors";
import { regionEndpoint, resolveEndpoint } from "../../lib/secmaster/endpoint";
import { SECMASTER_REGIONS, isSecMasterRegion } from "../../lib/secmaster/regions";

function configIssues(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("SECMASTER_REGIONS", () => {
  it("lists the 28 regions of the official SDK", () => {
    expect(SECMASTER_REGIONS).toHaveLength(28);
    expect(new Set(SECMASTER_REGIONS).size).toBe(28);
    expect(isSecMasterRegion("my-kualalumpur-1")).toBe(true);
    expect(isSecMasterRegion("us-east-1")).toBe(false);
  });
});

describe("resolveEndpoint", () => {
  it.each([
    ["cn-north-4", "https://secmaster.cn-north-4.myhuaweicloud.com"],
    ["ap-southeast-1", "https://secmaster.ap-southeast-1.myhuaweicloud.com"],
    ["eu-west-101", "https://secmaster.eu-west-101.myhuaweicloud.com"],
    ["cn-southwest-3", "https://secmaster.cn-southwest-3.myhuaweicloud.com"],
  ])("maps region %s to its host", (region, url) => {
    const endpoint = resolveEndpoint({ region });

    expect(endpoint.url).toBe(url);
    expect(endpoint.origin).toBe(url);
    expect(endpoint.basePath).toBe("");
  });

  it("rejects an unknown region and lists the valid ones", () => {
    const issues = configIssues(() => resolveEndpoint({ region: "cn-north-5" }));

    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('unknown SecMaster region "cn-north-5"');
    expect(issues[0]).toContain("cn-north-4, cn-east-3, cn-south-1");
    expect(issues[0]).toContain("cn-southwest-3");
  });

  it("rejects a missing region and endpoint", () => {
    const issues = configIssues(() => resolveEndpoint({}));

    expect(issues[0]).toMatch(/^missing SecMaster endpoint/);
  });

  it("prefers an explicit endpoint over the region", () => {
    const endpoint = resolveEndpoint({ endpoint: "https://secmaster.example.test/", region: "cn-north-4" });

    expect(endpoint.url).toBe("https://secmaster.example.test");
  });

  it("accepts plain http on 127.0.0.1 with a base path", () => {
    const endpoint = resolveEndpoint({ endpoint: "http://127.0.0.1:8788/secmaster/" });

    expect(endpoint).toEqual({
      url: "http://127.0.0.1:8788/secmaster",
      origin: "http://127.0.0.1:8788",
      basePath: "/secmaster",
    });
  });

  it.each(["http://localhost:8788", "http://[::1]:8788", "http://127.1.2.3"])("accepts plain http on loopback %s", (url) => {
    expect(resolveEndpoint({ endpoint: url }).origin).toBe(url);
  });

  it("rejects plain http on another host", () => {
    const issues = configIssues(() => resolveEndpoint({ endpoint: "http://10.0.0.8:8788" }));

    expect(issues[0]).toContain("plain http is allowed only on a loopback host");
  });

  it("rejects user info without repeating it", () => {
    const issues = configIssues(() => resolveEndpoint({ endpoint: "https://user:hunter2@secmaster.example.test" }));

    expect(issues[0]).toContain("remove the user name and password");
    expect(issues.join("\n")).not.toContain("hunter2");
  });

  it("rejects a query string, another scheme and a relative URL", () => {
    expect(configIssues(() => resolveEndpoint({ endpoint: "https://secmaster.example.test/?a=1" }))[0]).toContain(
      "remove the query string",
    );
    expect(configIssues(() => resolveEndpoint({ endpoint: "ftp://secmaster.example.test" }))[0]).toContain(
      "the scheme must be https or http",
    );
    expect(configIssues(() => resolveEndpoint({ endpoint: "secmaster.example.test" }))[0]).toContain(
      "not an absolute URL",
    );
  });

  it("returns the official endpoint of a region", () => {
    expect(regionEndpoint("la-south-2")).toBe("https://secmaster.la-south-2.myhuaweicloud.com");
  });
});
