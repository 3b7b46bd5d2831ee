import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentials } from "../../lib/aws/client";

/**
 * A stand-in for the AWS JSON-protocol services on 127.0.0.1. It checks each request's
 * Signature Version 4 with the AWS SDK's own signer, `@smithy/signature-v4`, so a request our
 * client signs wrongly fails here as it would on AWS. Tests register a handler per
 * `X-Amz-Target`; the stand-in records every call and returns errors in the services' format.
 */

/** Credentials the stand-in accepts unless a test passes its own. They are not real keys. */
export const STANDIN_CREDENTIALS: AwsCredentials = {
  accessKeyId: "AKIDSTANDIN00000TEST",
  secretAccessKey: "stand-in-secret-key-for-tests-only",
};

export const STANDIN_REGION = "eu-west-1";

/** An error a handler throws so that the stand-in returns it as a service error. */
export class StandinFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    readonly extra: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
  ) {
    super(message);
  }
}

/** One request the stand-in accepted. */
export interface StandinCall {
  /** `X-Amz-Target`, such as `AmazonSQS.SendMessageBatch`. */
  target: string;
  /** Service name of the signature's credential scope. */
  service: string;
  input: Record<string, unknown>;
  sessionToken: string | undefined;
}

export type StandinHandler = (input: Record<string, unknown>, call: StandinCall) => unknown;

export interface AwsStandin {
  /** Base URL, such as `http://127.0.0.1:41234`. */
  url: string;
  region: string;
  credentials: AwsCredentials;
  /** Responds to `target` with what `handler` returns or throws. A later call replaces an earlier one. */
  handle(target: string, handler: StandinHandler): void;
  /** Requests that passed the signature check, in order of arrival. */
  calls: StandinCall[];
  /** Reasons of the requests refused before reaching a handler. */
  refused: string[];
  /** Environment a client of the stand-in reads: region, credentials and `AWS_ENDPOINT_URL`. */
  env(): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    throw new Error("not used by the signer");
  }
}

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

// Signing name and content type of each service, by the prefix of its X-Amz-Target.
const SERVICES_BY_TARGET_PREFIX: Readonly<Record<string, { service: string; contentType: string }>> = {
  AmazonSQS: { service: "sqs", contentType: "application/x-amz-json-1.0" },
  AmazonSSM: { service: "ssm", contentType: "application/x-amz-json-1.1" },
  secretsmanager: { service: "secretsmanager", contentType: "application/x-amz-json-1.1" },
  DynamoDB_20120810: { service: "dynamodb", contentType: "application/x-amz-json-1.0" },
};

// AWS refuses a signature dated more than 15 minutes away from its clock.
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Starts a stand-in on a free port of 127.0.0.1. */
export async function startAwsStandin(options: { credentials?: AwsCredentials; region?: string } = {}): Promise<AwsStandin> {
  const credentials = options.credentials ?? STANDIN_CREDENTIALS;
  const region = options.region ?? STANDIN_REGION;
  const handlers = new Map<string, StandinHandler>();
  const calls: StandinCall[] = [];
  const refused: string[] = [];

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const contentType = request.headers["content-type"] ?? "application/x-amz-json-1.0";
      const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "content-type": contentType, "x-amzn-requestid": `standin-${calls.length + refused.length}`, ...headers });
        response.end(JSON.stringify(payload));
      };
      const refuse = (status: number, code: string, message: string) => {
        refused.push(`${code}: ${message}`);
        answer(status, { __type: `com.amazon.coral.service#${code}`, message });
      };

      void (async () => {
        const verdict = await checkSignature(request.method ?? "", request.url ?? "/", request.headers, body, credentials, region);
        if (verdict.problem !== undefined) return refuse(verdict.status, verdict.code, verdict.problem);

        const target = String(request.headers["x-amz-target"] ?? "");
        const wire = SERVICES_BY_TARGET_PREFIX[target.split(".")[0]!];
        if (wire !== undefined && wire.service !== verdict.service) {
          return refuse(400, "InvalidSignatureException", `credential scope service ${verdict.service}, expected ${wire.service} for ${target}`);
        }
        if (wire !== undefined && request.headers["content-type"] !== wire.contentType) {
          return refuse(400, "UnknownOperationException", `content type ${String(request.headers["content-type"])}, expected ${wire.contentType}`);
        }
        const handler = handlers.get(target);
        if (handler === undefined) return refuse(400, "UnknownOperationException", `no handler for ${target || "(no X-Amz-Target)"}`);
        let input: Record<string, unknown>;
        try {
          input = JSON.parse(body === "" ? "{}" : body) as Record<string, unknown>;
        } catch {
          return refuse(400, "SerializationException", "the body is not JSON");
        }
        const call: StandinCall = { target, service: verdict.service, input, sessionToken: headerValue(request.headers, "x-amz-security-token") };
        calls.push(call);
        try {
          answer(200, (await handler(input, call)) ?? {});
        } catch (error) {
          if (!(error instanceof StandinFault)) throw error;
          answer(error.statusCode, { __type: `com.amazonaws.standin#${error.code}`, message: error.message, ...error.extra.body }, error.extra.headers);
        }
      })().catch((error: unknown) => answer(500, { __type: "InternalFailure", message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    region,
    credentials,
    calls,
    refused,
    handle: (target, handler) => void handlers.set(target, handler),
    env: () => ({
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: credentials.sessionToken }),
      AWS_ENDPOINT_URL: url,
    }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

// Signs the request again with the SDK's signer, over the headers the client says it signed.
async function checkSignature(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: string,
  credentials: AwsCredentials,
  region: string,
): Promise<{ problem?: undefined; service: string } | { problem: string; code: string; status: number }> {
  const authorization = AUTHORIZATION.exec(headerValue(headers, "authorization") ?? "");
  if (authorization === null) return { problem: "the Authorization header is missing or not AWS4-HMAC-SHA256", code: "MissingAuthenticationTokenException", status: 400 };
  const [, accessKeyId, , scopeRegion, service, signedHeaders, signature] = authorization as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return { problem: `unknown access key ${accessKeyId}`, code: "UnrecognizedClientException", status: 400 };
  if (scopeRegion !== region) return { problem: `credential scope region ${scopeRegion}, expected ${region}`, code: "InvalidSignatureException", status: 400 };
  const sessionToken = headerValue(headers, "x-amz-security-token");
  if (sessionToken !== credentials.sessionToken) return { problem: "the session token does not match the credentials", code: "UnrecognizedClientException", status: 400 };

  const amzDate = headerValue(headers, "x-amz-date") ?? "";
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (!Number.isFinite(signedAt) || Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) {
    return { problem: `X-Amz-Date ${amzDate || "(missing)"} is missing or more than 15 minutes off`, code: "InvalidSignatureException", status: 400 };
  }

  const names = signedHeaders!.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-target", "content-type"]) {
    if (!names.includes(required)) return { problem: `${required} must be signed`, code: "InvalidSignatureException", status: 400 };
  }
  const toSign: Record<string, string> = {};
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value === undefined) return { problem: `signed header ${name} is missing`, code: "InvalidSignatureException", status: 400 };
    toSign[name] = value;
  }
  const [path, query = ""] = url.split("?", 2) as [string, string?];
  const signer = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) },
    region,
    service: service!,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const resigned = await signer.sign(
    {
      method,
      protocol: "http:",
      hostname: toSign.host!.split(":")[0]!,
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers: toSign,
      body,
    },
    { signingDate: new Date(signedAt), unsignableHeaders: new Set(), signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization ?? resigned.headers.Authorization))?.[1];
  if (expected !== signature) return { problem: "the signature does not match the request", code: "InvalidSignatureException", status: 400 };
  return { service: service! };
}
