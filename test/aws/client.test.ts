import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsJsonClient, AwsServiceError, DYNAMODB, environmentCredentials, resolveEndpoint, SECRETS_MANAGER, SQS, SSM } from "../../lib/aws/client";
import { StandinFault, startAwsStandin, type AwsStandin } from "../helpers/aws-standin";

let standin: AwsStandin;

const HAS_IPV6_LOOPBACK = Object.values(networkInterfaces()).some((addresses) => addresses?.some((address) => address.address === "::1"));

beforeEach(async () => {
  standin = await startAwsStandin();
});

afterEach(async () => {
  await standin.close();
});

function ssmClient(overrides: Partial<ConstructorParameters<typeof AwsJsonClient>[0]> = {}): AwsJsonClient {
  return new AwsJsonClient({ service: SSM, env: standin.env(), retryBaseMs: 1, ...overrides });
}

describe("AwsJsonClient", () => {
  it("sends a request the AWS SDK's signer verifies, with the target and JSON body", async () => {
    standin.handle("AmazonSSM.GetParameter", (input) => ({ Parameter: { Name: input.Name, Value: "example-value", Type: "SecureString" } }));

    const output = await ssmClient().call("GetParameter", { Name: "/bridge/example", WithDecryption: true });

    expect(output).toEqual({ Parameter: { Name: "/bridge/example", Value: "example-value", Type: "SecureString" } });
    expect(standin.calls).toEqual([
      { target: "AmazonSSM.GetParameter", service: "ssm", input: { Name: "/bridge/example", WithDecryption: true }, sessionToken: undefined },
    ]);
    expect(standin.refused).toEqual([]);
  });

  it("signs and sends the session token of temporary credentials", async () => {
    await standin.close();
    standin = await startAwsStandin({ credentials: { accessKeyId: "ASIASTANDIN0000TEMP0", secretAccessKey: "temporary-secret-for-tests", sessionToken: "session/token+for=tests" } });
    standin.handle("DynamoDB_20120810.GetItem", () => ({}));

    await new AwsJsonClient({ service: DYNAMODB, env: standin.env() }).call("GetItem", { TableName: "t", Key: { id: { S: "a" } } });

    expect(standin.calls.map((call) => [call.service, call.sessionToken])).toEqual([["dynamodb", "session/token+for=tests"]]);
  });

  it("is refused when signed with another secret key", async () => {
    standin.handle("AmazonSSM.GetParameter", () => ({}));
    const wrongSecret = { ...standin.env(), AWS_SECRET_ACCESS_KEY: "not-the-stand-in-secret" };

    const failure = await ssmClient({ env: wrongSecret }).call("GetParameter", { Name: "/x" }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(AwsServiceError);
    expect(failure).toMatchObject({ code: "InvalidSignatureException", name: "InvalidSignatureException", statusCode: 400, retryable: false });
    expect(standin.refused).toEqual(["InvalidSignatureException: the signature does not match the request"]);
  });

  it("is refused when the scope names another service", async () => {
    standin.handle("DynamoDB_20120810.GetItem", () => ({}));
    const misnamed = { ...DYNAMODB, signingName: "sqs" };

    const failure = await new AwsJsonClient({ service: misnamed, env: standin.env(), maxAttempts: 1 }).call("GetItem", {}).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "InvalidSignatureException" });
    expect(standin.refused).toEqual(["InvalidSignatureException: credential scope service sqs, expected dynamodb for DynamoDB_20120810.GetItem"]);
    standin.refused.length = 0;
  });

  it("is refused with the JSON version of another service", async () => {
    standin.handle("DynamoDB_20120810.GetItem", () => ({}));
    const misversioned = { ...DYNAMODB, jsonVersion: "1.1" as const };

    const failure = await new AwsJsonClient({ service: misversioned, env: standin.env(), maxAttempts: 1 }).call("GetItem", {}).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "UnknownOperationException" });
    standin.refused.length = 0;
  });

  it("uses the content type and target prefix of each service", async () => {
    const seen: string[] = [];
    for (const target of ["AmazonSQS.GetQueueAttributes", "secretsmanager.GetSecretValue"]) standin.handle(target, (_input, call) => void seen.push(`${call.target} ${call.service}`));

    await new AwsJsonClient({ service: SQS, env: standin.env() }).call("GetQueueAttributes", { QueueUrl: "q" });
    await new AwsJsonClient({ service: SECRETS_MANAGER, env: standin.env() }).call("GetSecretValue", { SecretId: "s" });

    expect(seen).toEqual(["AmazonSQS.GetQueueAttributes sqs", "secretsmanager.GetSecretValue secretsmanager"]);
  });

  it("reports the service's error code without its namespace and does not retry a client error", async () => {
    standin.handle("AmazonSSM.GetParameter", () => {
      throw new StandinFault("ParameterNotFound", "Parameter /bridge/missing not found.");
    });

    const failure = await ssmClient().call("GetParameter", { Name: "/bridge/missing" }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "ParameterNotFound", statusCode: 400, retryable: false, message: "GetParameter failed: ParameterNotFound: Parameter /bridge/missing not found." });
    expect(standin.calls).toHaveLength(1);
  });

  it("retries throttling and server errors, then succeeds", async () => {
    const answers = [new StandinFault("ThrottlingException", "Rate exceeded"), new StandinFault("InternalServerError", "oops", 500)];
    standin.handle("AmazonSSM.GetParameter", () => {
      const next = answers.shift();
      if (next !== undefined) throw next;
      return { Parameter: { Value: "v" } };
    });
    const waits: number[] = [];

    const output = await ssmClient({ retryBaseMs: 40, sleep: (ms) => Promise.resolve(void waits.push(ms)) }).call("GetParameter", { Name: "/x" });

    expect(output).toEqual({ Parameter: { Value: "v" } });
    expect(standin.calls).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThanOrEqual(40);
    expect(waits[1]).toBeLessThanOrEqual(80);
  });

  it("gives up after maxAttempts with the last error", async () => {
    standin.handle("AmazonSSM.GetParameter", () => {
      throw new StandinFault("ServiceUnavailable", "down", 503);
    });

    const failure = await ssmClient({ maxAttempts: 2 }).call("GetParameter", { Name: "/x" }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "ServiceUnavailable", statusCode: 503, retryable: true });
    expect(standin.calls).toHaveLength(2);
  });

  it("times out an attempt that gets no answer and retries it", async () => {
    let calls = 0;
    const slow = createServer((_request, response) => {
      calls++;
      setTimeout(() => response.end("{}"), 2000).unref();
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const client = new AwsJsonClient({ service: SSM, env: standin.env(), endpoint, timeoutMs: 50, maxAttempts: 2, retryBaseMs: 1 });

      const failure = await client.call("GetParameter", { Name: "/x" }).catch((error: unknown) => error);

      expect(failure).toMatchObject({ code: "TimeoutError", retryable: true, statusCode: undefined });
      expect(calls).toBe(2);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it("reports a dropped connection as a networking error", async () => {
    const dropping = createServer((request) => request.socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(dropping.address() as AddressInfo).port}`;

      const failure = await new AwsJsonClient({ service: SQS, env: standin.env(), endpoint, maxAttempts: 1 }).call("SendMessage", {}).catch((error: unknown) => error);

      expect(failure).toMatchObject({ code: "NetworkingError", retryable: true });
      expect((failure as Error).message).toContain("AmazonSQS.SendMessage failed without a response: ECONNRESET");
    } finally {
      await new Promise((resolve) => dropping.close(resolve));
    }
  });

  it("fails and retries a 2xx response that is not JSON", async () => {
    let calls = 0;
    const proxy = createServer((_request, response) => {
      calls++;
      response.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>");
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

      const failure = await ssmClient({ endpoint, maxAttempts: 2 }).call("GetParameter", { Name: "/x" }).catch((error: unknown) => error);

      expect(failure).toMatchObject({ code: "SerializationException", statusCode: 200, retryable: true });
      expect(calls).toBe(2);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("reads the error code from x-amzn-ErrorType when the body is empty", async () => {
    const answers: [number, Record<string, string>][] = [
      [400, { "x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/" }],
      [400, { "x-amzn-ErrorType": "RequestTimeout" }],
      [200, {}],
    ];
    const server = createServer((_request, response) => {
      const [status, headers] = answers.shift()!;
      response.writeHead(status, headers).end(status === 200 ? "{}" : "");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      await expect(ssmClient({ endpoint }).call("GetParameter", { Name: "/x" })).resolves.toEqual({});
      expect(answers).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.skipIf(!HAS_IPV6_LOOPBACK)("connects to an IPv6 loopback endpoint", async () => {
    const server = createServer((_request, response) => response.writeHead(200).end('{"ok":true}'));
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    try {
      const endpoint = `http://[::1]:${(server.address() as AddressInfo).port}`;

      await expect(ssmClient({ endpoint }).call("GetParameter", { Name: "/x" })).resolves.toEqual({ ok: true });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("corrects a clock that AWS finds too far off, then signs with AWS's time", async () => {
    const awsAheadMs = 2 * 3600 * 1000;
    const seenDates: string[] = [];
    const server = createServer((request, response) => {
      const amzDate = String(request.headers["x-amz-date"]);
      seenDates.push(amzDate);
      const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
      const awsNow = Date.now() + awsAheadMs;
      response.setHeader("date", new Date(awsNow).toUTCString());
      if (Math.abs(awsNow - signedAt) > 5 * 60 * 1000) {
        response.writeHead(400).end(JSON.stringify({ __type: "com.amazon.coral.service#InvalidSignatureException", message: "Signature expired" }));
      } else {
        response.writeHead(200).end("{}");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const client = ssmClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });

      await expect(client.call("GetParameter", { Name: "/x" })).resolves.toEqual({});
      await expect(client.call("GetParameter", { Name: "/y" })).resolves.toEqual({});

      // The first request is refused; the corrected time then serves every later call.
      expect(seenDates).toHaveLength(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("needs a region", () => {
    expect(() => new AwsJsonClient({ service: SQS, env: {} })).toThrow("no AWS region: set AWS_REGION");
  });

  it("stand-in accepts the AWS SDK client's requests", async () => {
    standin.handle("AmazonSSM.GetParameter", (input) => ({ Parameter: { Name: input.Name, Value: "from-sdk" } }));
    const sdk = new SSMClient({ region: standin.region, endpoint: standin.url, credentials: standin.credentials });

    const output = await sdk.send(new GetParameterCommand({ Name: "/bridge/sdk" }));
    sdk.destroy();

    expect(output.Parameter?.Value).toBe("from-sdk");
    expect(standin.refused).toEqual([]);
  });
});

describe("environmentCredentials", () => {
  it("reads the variables Lambda sets", () => {
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "token" })).toEqual({
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "secret",
      sessionToken: "token",
    });
  });

  it("names the variables when they are missing", () => {
    expect(() => environmentCredentials({ AWS_ACCESS_KEY_ID: "AKIDEXAMPLE" })).toThrow("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  });
});

describe("resolveEndpoint", () => {
  it("prefers the service's own variable, then AWS_ENDPOINT_URL, then the regional host", () => {
    const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://127.0.0.1:1111", AWS_ENDPOINT_URL: "http://127.0.0.1:2222" };

    expect(resolveEndpoint(SECRETS_MANAGER, "eu-west-1", env).href).toBe("http://127.0.0.1:1111/");
    expect(resolveEndpoint(SQS, "eu-west-1", env).href).toBe("http://127.0.0.1:2222/");
    expect(resolveEndpoint(DYNAMODB, "ap-southeast-1", {}).href).toBe("https://dynamodb.ap-southeast-1.amazonaws.com/");
    expect(resolveEndpoint(SQS, "cn-north-1", {}).href).toBe("https://sqs.cn-north-1.amazonaws.com.cn/");
  });
});
