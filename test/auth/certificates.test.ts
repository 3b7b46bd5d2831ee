import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateFetcher, signatureHashOf, type FetchFunction } from "../../lib/auth/certificates";
import { allowedHttpsUrl, parseHostPattern, type HostPattern } from "../../lib/auth/hosts";
import { createTestPki, fetchTrusting, startCertificateServer, type CertificateServer, type TestPki } from "./pki";

describe("certificate fetcher", () => {
  let pki: TestPki;
  let server: CertificateServer;
  let allowed: HostPattern[];
  const requested: string[] = [];
  let fetchFunction: FetchFunction;

  beforeAll(async () => {
    pki = createTestPki();
    server = await startCertificateServer(pki);
    allowed = [parseHostPattern(`127.0.0.1:${server.port}`)!];
    const trusting = fetchTrusting(pki);
    fetchFunction = (url, init) => {
      requested.push(url);
      return trusting(url, init);
    };
  });

  afterAll(async () => {
    await server.close();
  });

  it("rejects foreign URLs before any connection", async () => {
    const foreign = [
      "https://attacker.example/cert.pem",
      `https://127.0.0.1:${server.port}.attacker.example/cert.pem`,
      `https://127.0.0.1:${server.port + 1}/cert.pem`,
      `http://127.0.0.1:${server.port}/cert.pem`,
      `https://user:secret@127.0.0.1:${server.port}/cert.pem`,
      `https://127.0.0.1:${server.port}@attacker.example/cert.pem`,
      `https://127.0.0.1:${server.port}/cert.txt`,
      `https://127.0.0.2:${server.port}/cert.pem`,
      "https://[::1]/cert.pem",
      "file:///etc/ssl/cert.pem",
      "not a url",
    ];
    const connectionsBefore = server.connections();
    const requestsBefore = requested.length;
    const fetcher = new CertificateFetcher({ fetch: fetchFunction });

    for (const url of foreign) {
      const result = await fetcher.get(url, allowed);
      expect(result).toEqual({ ok: false, reason: "cert-url-rejected" });
    }

    expect(requested.length).toBe(requestsBefore);
    expect(server.connections()).toBe(connectionsBefore);
  });

  it("downloads an allowed certificate once", async () => {
    const fetcher = new CertificateFetcher({ fetch: fetchFunction });
    const url = `${server.origin}/once.pem`;

    const [first, second] = await Promise.all([fetcher.get(url, allowed), fetcher.get(url, allowed)]);
    const third = await fetcher.get(url, allowed);

    expect(first.ok).toBe(true);
    expect(second.ok).toBe(true);
    expect(third.ok).toBe(true);
    expect(server.requests.filter((path) => path === "/once.pem")).toHaveLength(1);
  });

  it("downloads again after the cache time", async () => {
    let nowMs = Date.now();
    const fetcher = new CertificateFetcher({ fetch: fetchFunction, cacheTtlMs: 1000, now: () => nowMs });
    const url = `${server.origin}/expiring.pem`;

    await fetcher.get(url, allowed);
    nowMs += 1001;
    await fetcher.get(url, allowed);

    expect(server.requests.filter((path) => path === "/expiring.pem")).toHaveLength(2);
  });

  it("fails on redirects and missing files", async () => {
    const fetcher = new CertificateFetcher({ fetch: fetchFunction });

    const redirected = await fetcher.get(`${server.origin}/redirect.pem`, allowed);
    const missing = await fetcher.get(`${server.origin}/missing.pem`, allowed);

    expect(redirected).toEqual({ ok: false, reason: "cert-fetch-failed" });
    expect(missing).toEqual({ ok: false, reason: "cert-fetch-failed" });
    expect(server.requests).not.toContain("/cert.pem");
  });

  it("rejects content that is not a certificate", async () => {
    const junk = await startCertificateServer(pki, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    const fetcher = new CertificateFetcher({ fetch: fetchFunction });

    const result = await fetcher.get(`${junk.origin}/junk.pem`, [parseHostPattern(`127.0.0.1:${junk.port}`)!]);
    await junk.close();

    expect(result).toEqual({ ok: false, reason: "cert-invalid" });
  });

  it("rejects a certificate past its end date", async () => {
    const validToMs = Date.parse(new X509Certificate(pki.certificatePem).validTo);
    const fetcher = new CertificateFetcher({ fetch: fetchFunction, now: () => validToMs + 60_000 });

    const result = await fetcher.get(`${server.origin}/late.pem`, allowed);

    expect(result).toEqual({ ok: false, reason: "cert-invalid" });
  });

  it("reads the certificate signature hash", () => {
    const sha1Pki = createTestPki("sha1");

    expect(signatureHashOf(new X509Certificate(pki.certificatePem).raw)).toBe("sha256");
    expect(signatureHashOf(new X509Certificate(sha1Pki.certificatePem).raw)).toBe("sha1");
    expect(signatureHashOf(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeUndefined();
  });
});

describe("host patterns", () => {
  it("parses wildcard labels and ports", () => {
    expect(parseHostPattern("sns.*.amazonaws.com")).toEqual({ labels: ["sns", "*", "amazonaws", "com"], port: 443, text: "sns.*.amazonaws.com" });
    expect(parseHostPattern("127.0.0.1:8443")).toEqual({ labels: ["127", "0", "0", "1"], port: 8443, text: "127.0.0.1:8443" });
  });

  it("rejects patterns that allow any domain", () => {
    expect(parseHostPattern("*.com")).toBeUndefined();
    expect(parseHostPattern("sns.*")).toBeUndefined();
    expect(parseHostPattern("sns.amazonaws.*")).toBeUndefined();
    expect(parseHostPattern("localhost")).toBeUndefined();
    expect(parseHostPattern("example.com:0")).toBeUndefined();
    expect(parseHostPattern("exa mple.com")).toBeUndefined();
  });

  it("matches one label per wildcard", () => {
    const patterns = [parseHostPattern("sns.*.amazonaws.com")!];

    expect(allowedHttpsUrl("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem", patterns, ".pem")?.host).toBe("sns.eu-west-1.amazonaws.com");
    expect(allowedHttpsUrl("https://sns.a.b.amazonaws.com/x.pem", patterns, ".pem")).toBeUndefined();
    expect(allowedHttpsUrl("https://sns.eu-west-1.amazonaws.com.attacker.example/x.pem", patterns, ".pem")).toBeUndefined();
    expect(allowedHttpsUrl("https://SNS.EU-WEST-1.AMAZONAWS.COM/x.pem", patterns, ".pem")?.hostname).toBe("sns.eu-west-1.amazonaws.com");
    expect(allowedHttpsUrl("https://sns.eu-west-1.amazonaws.com:8443/x.pem", patterns, ".pem")).toBeUndefined();
  });
});
