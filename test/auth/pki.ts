import { execFileSync } from "node:child_process";
import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import type { FetchFunction } from "../../lib/auth/certificates";

/** A key pair and self-signed certificate for 127.0.0.1, made for one test run and never written to the repository. */
export interface TestPki {
  privateKey: KeyObject;
  certificatePem: string;
  keyPem: string;
}

/**
 * Generates an RSA key and a self-signed sha256WithRSA certificate for IP 127.0.0.1 with the
 * `openssl` command line, reading them back and deleting the temporary folder at once.
 */
export function createTestPki(hashName: "sha256" | "sha1" = "sha256"): TestPki {
  const folder = mkdtempSync(join(tmpdir(), "bridge-pki-"));
  try {
    const keyPath = join(folder, "key.pem");
    const certificatePath = join(folder, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", `-${hashName}`, "-keyout", keyPath, "-out", certificatePath, "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      { stdio: "ignore" },
    );
    const keyPem = readFileSync(keyPath, "utf8");
    return { privateKey: createPrivateKey(keyPem), certificatePem: readFileSync(certificatePath, "utf8"), keyPem };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** An HTTPS server on 127.0.0.1 that serves certificates and records every connection and request. */
export interface CertificateServer {
  port: number;
  origin: string;
  /** Paths requested, in order. */
  requests: string[];
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts an HTTPS server on 127.0.0.1 with the test certificate. It serves `pem` at every path
 * ending in `.pem` (except `/missing.pem`, 404), redirects `/redirect.pem`, and returns 200 for
 * `/confirm…` so subscription confirmations can be observed.
 */
export async function startCertificateServer(pki: TestPki, pem: string = pki.certificatePem): Promise<CertificateServer> {
  const requests: string[] = [];
  let connections = 0;
  const server: Server = createServer({ key: pki.keyPem, cert: pki.certificatePem }, (request, response) => {
    const path = request.url ?? "/";
    requests.push(path);
    if (path === "/redirect.pem") {
      response.writeHead(302, { location: "/cert.pem" }).end();
    } else if (path === "/missing.pem") {
      response.writeHead(404).end();
    } else if (path.endsWith(".pem")) {
      response.writeHead(200, { "content-type": "application/x-pem-file" }).end(pem);
    } else if (path.startsWith("/confirm")) {
      response.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
    } else {
      response.writeHead(404).end();
    }
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Returns a fetch function that trusts only the test certificate, for the certificate fetcher and confirmations. */
export function fetchTrusting(pki: TestPki): FetchFunction {
  const dispatcher = new Agent({ connect: { ca: pki.certificatePem } });
  return (url, init) => undiciFetch(url, { ...init, dispatcher });
}

/** Writes `Key\nValue\n` lines of the named fields in the given order, skipping absent ones. */
export function signedLines(message: Record<string, unknown>, fields: readonly string[]): string {
  return fields
    .filter((field) => message[field] !== undefined && message[field] !== null && message[field] !== "")
    .map((field) => `${field}\n${String(message[field])}\n`)
    .join("");
}

/** Returns a signed copy of an SNS message (SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA). */
export function signSnsMessage<T extends Record<string, unknown>>(message: T, pki: TestPki, certificateUrl: string, version: "1" | "2" = "2"): T {
  const fields =
    message.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  const signed = { ...message, SignatureVersion: version, SigningCertURL: certificateUrl } as Record<string, unknown>;
  signed.Signature = sign(version === "1" ? "sha1" : "sha256", Buffer.from(signedLines(signed, fields)), pki.privateKey).toString("base64");
  return signed as T;
}

/** Returns a copy of an SMN message signed with SHA256withRSA over its sorted key and value lines. */
export function signSmnMessage<T extends Record<string, unknown>>(message: T, pki: TestPki, certificateUrl: string): T {
  const fields =
    message.type === "Notification"
      ? ["message", "message_id", "subject", "timestamp", "topic_urn", "type"]
      : ["message", "message_id", "subscribe_url", "timestamp", "topic_urn", "type"];
  const signed = { ...message, signature_version: "v1", signing_cert_url: certificateUrl } as Record<string, unknown>;
  signed.signature = sign("sha256", Buffer.from(signedLines(signed, fields)), pki.privateKey).toString("base64");
  return signed as T;
}
