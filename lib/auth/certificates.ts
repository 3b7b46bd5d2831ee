import { X509Certificate } from "node:crypto";
import { allowedHttpsUrl, type HostPattern } from "./hosts";

/** The part of `fetch` the certificate fetcher and subscription confirmation use; tests inject their own. */
export type FetchFunction = (url: string, init: { method: "GET"; redirect: "error"; signal: AbortSignal }) => Promise<{
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** Reason a signing certificate could not be used, logged as the rejection reason. */
export type CertificateFailure = "cert-url-rejected" | "cert-fetch-failed" | "cert-invalid";

/** A signing certificate with the hash of its own signature algorithm (SMN verifies messages with it). */
export interface SigningCertificate {
  certificate: X509Certificate;
  /** `sha1` or `sha256`..., from the certificate's signatureAlgorithm; undefined when not RSA/ECDSA with SHA. */
  signatureHash: string | undefined;
}

/** Options of {@link CertificateFetcher}. */
export interface CertificateFetcherOptions {
  /** @default globalThis.fetch */
  fetch?: FetchFunction;
  /** How long a fetched certificate is reused. @default 3600000 (1 hour) */
  cacheTtlMs?: number;
  /** Most certificates kept; the oldest is dropped first. @default 32 */
  maxEntries?: number;
  /** Largest certificate accepted, in bytes. @default 65536 */
  maxBytes?: number;
  /** Time allowed for one download. @default 3000 */
  timeoutMs?: number;
  /** Clock in epoch milliseconds, for the cache and the certificate's validity dates. @default Date.now */
  now?: () => number;
}

/** Result of {@link CertificateFetcher.get}. */
export type CertificateResult = { ok: true; value: SigningCertificate } | { ok: false; reason: CertificateFailure };

/**
 * Downloads and caches message-signing certificates. The URL is checked against the allowed
 * host patterns before anything else, so a URL on any other host never causes a DNS lookup or a
 * connection. Redirects are refused, downloads are bounded in time and size, and concurrent
 * requests for one URL share a download.
 */
export class CertificateFetcher {
  readonly #fetch: FetchFunction;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { expiresAtMs: number; value: SigningCertificate }>();
  readonly #pending = new Map<string, Promise<CertificateResult>>();

  constructor(options: CertificateFetcherOptions = {}) {
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#ttlMs = options.cacheTtlMs ?? 3_600_000;
    this.#maxEntries = options.maxEntries ?? 32;
    this.#maxBytes = options.maxBytes ?? 65_536;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#now = options.now ?? Date.now;
  }

  /** Returns the certificate at `url` when the URL is allowed, downloadable and contains a currently valid certificate. */
  async get(url: string, allowedHosts: readonly HostPattern[]): Promise<CertificateResult> {
    const allowed = allowedHttpsUrl(url, allowedHosts, ".pem");
    if (allowed === undefined) return { ok: false, reason: "cert-url-rejected" };
    const key = allowed.href;

    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expiresAtMs > this.#now()) return this.#checkValidity(cached.value);

    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#download(key).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const result = await pending;
    return result.ok ? this.#checkValidity(result.value) : result;
  }

  async #download(url: string): Promise<CertificateResult> {
    let bytes: Buffer;
    try {
      const response = await this.#fetch(url, { method: "GET", redirect: "error", signal: AbortSignal.timeout(this.#timeoutMs) });
      if (response.status !== 200) return { ok: false, reason: "cert-fetch-failed" };
      bytes = Buffer.from(await response.arrayBuffer());
    } catch {
      return { ok: false, reason: "cert-fetch-failed" };
    }
    if (bytes.length > this.#maxBytes) return { ok: false, reason: "cert-invalid" };

    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(bytes);
    } catch {
      return { ok: false, reason: "cert-invalid" };
    }
    const value = { certificate, signatureHash: signatureHashOf(certificate.raw) };
    if (this.#cache.size >= this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(url, { expiresAtMs: this.#now() + this.#ttlMs, value });
    return { ok: true, value };
  }

  #checkValidity(value: SigningCertificate): CertificateResult {
    const now = this.#now();
    const valid = Date.parse(value.certificate.validFrom) <= now && now <= Date.parse(value.certificate.validTo);
    return valid ? { ok: true, value } : { ok: false, reason: "cert-invalid" };
  }
}

// Object identifiers of signature algorithms, as hex of their DER content bytes.
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  "2a864886f70d010105": "sha1", // sha1WithRSAEncryption
  "2a864886f70d01010b": "sha256", // sha256WithRSAEncryption
  "2a864886f70d01010c": "sha384", // sha384WithRSAEncryption
  "2a864886f70d01010d": "sha512", // sha512WithRSAEncryption
  "2a8648ce3d040302": "sha256", // ecdsa-with-SHA256
  "2a8648ce3d040303": "sha384", // ecdsa-with-SHA384
};

/**
 * Reads the hash of a certificate's signatureAlgorithm from its DER bytes:
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE { OID, … }, … }.
 * Node's X509Certificate does not expose this field.
 */
export function signatureHashOf(der: Buffer): string | undefined {
  const certificate = readElement(der, 0);
  if (certificate?.tag !== 0x30) return undefined;
  const tbs = readElement(der, certificate.contentStart);
  if (tbs === undefined) return undefined;
  const algorithm = readElement(der, tbs.end);
  if (algorithm?.tag !== 0x30) return undefined;
  const oid = readElement(der, algorithm.contentStart);
  if (oid?.tag !== 0x06) return undefined;
  return SIGNATURE_ALGORITHMS[der.subarray(oid.contentStart, oid.end).toString("hex")];
}

function readElement(der: Buffer, offset: number): { tag: number; contentStart: number; end: number } | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4 || contentStart + lengthBytes > der.length) return undefined;
    length = 0;
    for (let index = 0; index < lengthBytes; index += 1) length = length * 256 + der[contentStart + index]!;
    contentStart += lengthBytes;
  }
  const end = contentStart + length;
  return end > der.length ? undefined : { tag, contentStart, end };
}
