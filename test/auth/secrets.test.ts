import type middy from "@middy/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadSecrets, resolveSecMasterCredentials, resolveSecrets, secretValuesOf, type LoadSecretsOptions } from "../../lib/auth/secrets";
import { parseAuthSettings, type AuthSettings } from "../../lib/auth/settings";
import { AwsJsonClient, type AwsJsonService } from "../../lib/aws/client";
import { BridgeError } from "../../lib/errors";
import { startAwsStandin, StandinFault, type AwsStandin } from "../helpers/aws-standin";
import { captureLogOutput, type LogCapture } from "../helpers/log-capture";

const GET_PARAMETERS = "AmazonSSM.GetParameters";
const GET_SECRET_VALUE = "secretsmanager.GetSecretValue";
const START_MS = Date.parse("2026-01-05T10:00:00Z");

let standin: AwsStandin;
let nowMs = START_MS;
let logs: LogCapture | undefined;

beforeAll(async () => {
  standin = await startAwsStandin();
  for (const [name, value] of Object.entries(standin.env())) vi.stubEnv(name, value);
});

beforeEach(() => {
  nowMs = START_MS;
  standin.calls.length = 0;
  standin.refused.length = 0;
});

afterEach(() => {
  logs?.restore();
  logs = undefined;
  expect(standin.refused).toEqual([]);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await standin.close();
});

function authSettings(env: Record<string, string>, secretsTtlSeconds = 300): AuthSettings {
  const issues: string[] = [];
  const settings = parseAuthSettings(env, { requireAuth: true, secretsTtlSeconds }, issues);
  expect(issues).toEqual([]);
  return settings;
}

function secretsOf(auth: AuthSettings, options: Partial<LoadSecretsOptions> = {}): middy.MiddlewareObj {
  return loadSecrets({ authOf: () => auth, now: () => nowMs, ...options });
}

// Clients that try once, so a test of a failing service does not wait for retries.
function singleAttemptClient(service: AwsJsonService): AwsJsonClient {
  return new AwsJsonClient({ service, maxAttempts: 1, timeoutMs: 2000 });
}

function invocation(): middy.Request {
  return { event: {}, context: {} as never, response: undefined, error: null, internal: {} };
}

async function run(middleware: middy.MiddlewareObj, request = invocation()): Promise<middy.Request> {
  await middleware.before!(request);
  return request;
}

async function failureOf(middleware: middy.MiddlewareObj): Promise<BridgeError> {
  const error = await run(middleware).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(BridgeError);
  return error as BridgeError;
}

function inputsOf(target: string): Record<string, unknown>[] {
  return standin.calls.filter((call) => call.target === target).map((call) => call.input);
}

function parameter(name: string, value: string, type = "SecureString") {
  return { Name: name, Type: type, Value: value };
}

// Serves GetParameters from a table of names, listing unknown names as InvalidParameters.
function serveParameters(values: Record<string, string>): void {
  standin.handle(GET_PARAMETERS, (input) => {
    const names = input.Names as string[];
    return {
      Parameters: names.filter((name) => Object.hasOwn(values, name)).map((name) => parameter(name, values[name]!)),
      InvalidParameters: names.filter((name) => !Object.hasOwn(values, name)),
    };
  });
}

describe("secrets from SSM and Secrets Manager", () => {
  it("fetches SSM parameters with decryption", async () => {
    serveParameters({ "/bridge/grafana": "new-secret\nold-secret" });
    const auth = authSettings({ BRIDGE_AUTH_GRAFANA: "grafana-hmac", BRIDGE_AUTH_GRAFANA_SECRETS: "ssm:/bridge/grafana" });

    const request = await run(secretsOf(auth));

    expect(resolveSecrets(auth.sources.GRAFANA!.secrets, secretValuesOf(request.event as object))).toEqual(["new-secret", "old-secret"]);
    expect(inputsOf(GET_PARAMETERS)).toEqual([{ Names: ["/bridge/grafana"], WithDecryption: true }]);
    expect(standin.calls[0]!.service).toBe("ssm");
  });

  it("reuses fetched values within the TTL", async () => {
    serveParameters({ "/bridge/token": "first" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth);

    await run(middleware);
    nowMs = Date.parse("2026-01-05T10:00:59Z");
    const second = await run(middleware);

    expect(inputsOf(GET_PARAMETERS)).toHaveLength(1);
    expect(secretValuesOf(second.event as object).get("ssm:/bridge/token")).toEqual(["first"]);
  });

  it("picks up a rotated value after the TTL", async () => {
    serveParameters({ "/bridge/token": "first" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth);

    await run(middleware);
    serveParameters({ "/bridge/token": "rotated" });
    nowMs = Date.parse("2026-01-05T10:01:01Z");
    const later = await run(middleware);

    expect(secretValuesOf(later.event as object).get("ssm:/bridge/token")).toEqual(["rotated"]);
    expect(inputsOf(GET_PARAMETERS)).toHaveLength(2);
  });

  it("shares one refresh between concurrent invocations", async () => {
    serveParameters({ "/bridge/token": "shared" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" });
    const middleware = secretsOf(auth);

    const [first, second] = await Promise.all([run(middleware), run(middleware)]);

    expect(inputsOf(GET_PARAMETERS)).toHaveLength(1);
    expect(secretValuesOf(first.event as object).get("ssm:/bridge/token")).toEqual(["shared"]);
    expect(secretValuesOf(second.event as object).get("ssm:/bridge/token")).toEqual(["shared"]);
  });

  it("splits more than 10 SSM names into two calls", async () => {
    const env: Record<string, string> = {};
    const values: Record<string, string> = {};
    for (let index = 1; index <= 12; index++) {
      env[`BRIDGE_AUTH_SOURCE${index}`] = "path-token";
      env[`BRIDGE_AUTH_SOURCE${index}_SECRETS`] = `ssm:/bridge/s${index}`;
      values[`/bridge/s${index}`] = `token-${index}`;
    }
    serveParameters(values);
    const auth = authSettings(env);

    const request = await run(secretsOf(auth));

    const names = inputsOf(GET_PARAMETERS).map((input) => input.Names as string[]);
    expect(names.map((batch) => batch.length).sort((a, b) => a - b)).toEqual([2, 10]);
    expect(names.flat().sort()).toEqual([
      "/bridge/s1",
      "/bridge/s10",
      "/bridge/s11",
      "/bridge/s12",
      "/bridge/s2",
      "/bridge/s3",
      "/bridge/s4",
      "/bridge/s5",
      "/bridge/s6",
      "/bridge/s7",
      "/bridge/s8",
      "/bridge/s9",
    ]);
    expect(secretValuesOf(request.event as object).get("ssm:/bridge/s1")).toEqual(["token-1"]);
    expect(secretValuesOf(request.event as object).get("ssm:/bridge/s12")).toEqual(["token-12"]);
  });

  it("splits a StringList value at commas", async () => {
    standin.handle(GET_PARAMETERS, () => ({ Parameters: [parameter("/bridge/list", "new-token,old-token", "StringList")], InvalidParameters: [] }));
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/list" });

    const request = await run(secretsOf(auth));

    expect(resolveSecrets(auth.sources.SPLUNK!.secrets, secretValuesOf(request.event as object))).toEqual(["new-token", "old-token"]);
  });

  it("selects a JSON key of a Secrets Manager secret", async () => {
    standin.handle(GET_SECRET_VALUE, () => ({ Name: "bridge/sentinel", SecretString: '{"basic":"soc:pass-1","other":"x"}' }));
    const auth = authSettings({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic" });

    const request = await run(secretsOf(auth));

    expect(resolveSecrets(auth.sources.SENTINEL!.secrets, secretValuesOf(request.event as object))).toEqual(["soc:pass-1"]);
    expect(inputsOf(GET_SECRET_VALUE)).toEqual([{ SecretId: "bridge/sentinel" }]);
    expect(standin.calls[0]!.service).toBe("secretsmanager");
  });

  it("reads a whole SecretString without a JSON key", async () => {
    standin.handle(GET_SECRET_VALUE, () => ({ SecretString: "plain-token-1\nplain-token-2" }));
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "secretsmanager:bridge/splunk" });

    const request = await run(secretsOf(auth));

    expect(resolveSecrets(auth.sources.SPLUNK!.secrets, secretValuesOf(request.event as object))).toEqual(["plain-token-1", "plain-token-2"]);
  });

  it("reads a secret once for two of its keys", async () => {
    standin.handle(GET_SECRET_VALUE, () => ({ SecretString: '{"splunk":"token-a","sentinel":"soc:pass-2"}' }));
    const auth = authSettings({
      BRIDGE_AUTH_SPLUNK: "path-token",
      BRIDGE_AUTH_SPLUNK_SECRETS: "secretsmanager:bridge/shared#splunk",
      BRIDGE_AUTH_SENTINEL: "basic",
      BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/shared#sentinel",
    });

    const request = await run(secretsOf(auth));

    expect(resolveSecrets(auth.sources.SPLUNK!.secrets, secretValuesOf(request.event as object))).toEqual(["token-a"]);
    expect(resolveSecrets(auth.sources.SENTINEL!.secrets, secretValuesOf(request.event as object))).toEqual(["soc:pass-2"]);
    expect(inputsOf(GET_SECRET_VALUE)).toEqual([{ SecretId: "bridge/shared" }]);
  });

  it("fetches SSM and Secrets Manager concurrently", async () => {
    // Each handler waits until the other service was called, so a sequential fetch times out.
    let ssmCalled!: () => void;
    let secretsManagerCalled!: () => void;
    const ssmReached = new Promise<void>((resolve) => (ssmCalled = resolve));
    const secretsManagerReached = new Promise<void>((resolve) => (secretsManagerCalled = resolve));
    standin.handle(GET_PARAMETERS, async () => {
      ssmCalled();
      await secretsManagerReached;
      return { Parameters: [parameter("/bridge/token", "ssm-token")], InvalidParameters: [] };
    });
    standin.handle(GET_SECRET_VALUE, async () => {
      secretsManagerCalled();
      await ssmReached;
      return { SecretString: '{"basic":"soc:pass-3"}' };
    });
    const auth = authSettings({
      BRIDGE_AUTH_SPLUNK: "path-token",
      BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token",
      BRIDGE_AUTH_SENTINEL: "basic",
      BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic",
    });

    const request = await run(secretsOf(auth, { clientOf: singleAttemptClient }));

    expect(secretValuesOf(request.event as object).get("ssm:/bridge/token")).toEqual(["ssm-token"]);
    expect(secretValuesOf(request.event as object).get("secretsmanager:bridge/sentinel#basic")).toEqual(["soc:pass-3"]);
    expect(standin.calls.map((call) => call.target).sort()).toEqual([GET_PARAMETERS, GET_SECRET_VALUE]);
  });

  it("answers 503 when a secret cannot be fetched", async () => {
    standin.handle(GET_PARAMETERS, () => {
      throw new StandinFault("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/bridge is not authorized to perform: ssm:GetParameters");
    });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/denied" });
    logs = captureLogOutput();

    const error = await failureOf(secretsOf(auth));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(error.statusCode).toBe(503);
    expect(error.message).toBe("failed to fetch secret ssm:/bridge/denied");
    expect(logs.text()).toContain('"references":["ssm:/bridge/denied"]');
    expect(logs.text()).toContain("AccessDeniedException");
  });

  it("reports an InvalidParameters name as unavailable", async () => {
    serveParameters({ "/bridge/present": "present-token" });
    const auth = authSettings({
      BRIDGE_AUTH_SPLUNK: "path-token",
      BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/present",
      BRIDGE_AUTH_GRAFANA: "grafana-hmac",
      BRIDGE_AUTH_GRAFANA_SECRETS: "ssm:/bridge/deleted",
    });
    logs = captureLogOutput();

    const error = await failureOf(secretsOf(auth));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(error.message).toBe("failed to fetch secret ssm:/bridge/deleted");
    expect(logs.text()).toContain("InvalidParameters");
    expect(logs.text()).not.toContain("present-token");
  });

  it("answers 503 when the JSON key is absent", async () => {
    standin.handle(GET_SECRET_VALUE, () => ({ SecretString: '{"other":"unrelated-secret-value"}' }));
    const auth = authSettings({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic" });
    logs = captureLogOutput();

    const error = await failureOf(secretsOf(auth));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(error.message).toBe("failed to fetch secret secretsmanager:bridge/sentinel#basic");
    expect(logs.text()).toContain('the SecretString has no JSON key \\"basic\\"');
    expect(logs.text()).not.toContain("unrelated-secret-value");
  });

  it("logs no part of a secret that is not JSON", async () => {
    standin.handle(GET_SECRET_VALUE, () => ({ SecretString: "not-json-secret-value" }));
    const auth = authSettings({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic" });
    logs = captureLogOutput();

    const error = await failureOf(secretsOf(auth));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(logs.text()).toContain("the SecretString is not JSON");
    expect(logs.text()).not.toContain("not-json");
    expect(JSON.stringify(error.cause)).not.toContain("not-json");
  });

  it("rejects an empty value with 503", async () => {
    serveParameters({ "/bridge/blank": " \n " });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/blank" });

    const error = await failureOf(secretsOf(auth));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(error.message).toBe("failed to fetch secret ssm:/bridge/blank");
  });

  it("fetches SecMaster credentials the same way", async () => {
    serveParameters({ "/bridge/ak": "AKEXAMPLE000000000001", "/bridge/sk": "sk-example-not-real" });
    const auth = authSettings({});
    const credentials = { kind: "aksk" as const, accessKey: "ssm:/bridge/ak", secretKey: "ssm:/bridge/sk" };

    const request = await run(secretsOf(auth, { secmasterOf: () => credentials }));

    expect(resolveSecMasterCredentials(credentials, secretValuesOf(request.event as object))).toEqual({
      kind: "aksk",
      accessKey: "AKEXAMPLE000000000001",
      secretKey: "sk-example-not-real",
    });
  });

  it("rejects an unfetched SecMaster reference", () => {
    const credentials = { kind: "aksk" as const, accessKey: "AKEXAMPLE", secretKey: "ssm:/bridge/sk" };

    expect(() => resolveSecMasterCredentials(credentials, new Map())).toThrow(BridgeError);
  });

  it("keeps plain SecMaster credentials as they are", () => {
    expect(resolveSecMasterCredentials({ kind: "token", token: "plain-token" }, new Map())).toEqual({ kind: "token", token: "plain-token" });
  });

  it("calls no AWS service when every secret is local", async () => {
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "env:SPLUNK_TOKEN", SPLUNK_TOKEN: "local-token" });
    const services: string[] = [];

    const request = await run(
      secretsOf(auth, {
        clientOf: (service) => {
          services.push(service.signingName);
          return new AwsJsonClient({ service });
        },
      }),
    );

    expect(services).toEqual([]);
    expect(standin.calls).toEqual([]);
    expect(resolveSecrets(auth.sources.SPLUNK!.secrets, secretValuesOf(request.event as object))).toEqual(["local-token"]);
  });

  it("makes a client only for the services referenced", async () => {
    serveParameters({ "/bridge/token": "ssm-only" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const services: string[] = [];
    const middleware = secretsOf(auth, {
      clientOf: (service) => {
        services.push(service.signingName);
        return new AwsJsonClient({ service });
      },
    });

    await run(middleware);
    nowMs = Date.parse("2026-01-05T10:01:01Z");
    await run(middleware);

    expect(services).toEqual(["ssm"]);
    expect(inputsOf(GET_PARAMETERS)).toHaveLength(2);
  });
});

describe("secrets when a refresh fails", () => {
  function throttle(): never {
    throw new StandinFault("ThrottlingException", "Rate exceeded");
  }

  it("keeps the last values for 120 s after a transient failure", async () => {
    serveParameters({ "/bridge/token": "last-good" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth, { clientOf: singleAttemptClient });
    await run(middleware);
    standin.handle(GET_PARAMETERS, throttle);
    logs = captureLogOutput();

    nowMs = Date.parse("2026-01-05T10:01:01Z");
    const stale = await run(middleware);
    nowMs = Date.parse("2026-01-05T10:01:05Z");
    const withinRetryWait = await run(middleware);

    expect(secretValuesOf(stale.event as object).get("ssm:/bridge/token")).toEqual(["last-good"]);
    expect(secretValuesOf(withinRetryWait.event as object).get("ssm:/bridge/token")).toEqual(["last-good"]);
    expect(inputsOf(GET_PARAMETERS)).toHaveLength(2);
    expect(logs.text()).toContain("failed to refresh secrets; using the values fetched earlier");
    expect(logs.text()).toContain('"staleUntil":"2026-01-05T10:03:00.000Z"');
    expect(logs.text()).not.toContain("last-good");
  });

  it("retries 10 s after a failed refresh", async () => {
    serveParameters({ "/bridge/token": "first" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth, { clientOf: singleAttemptClient });
    await run(middleware);
    standin.handle(GET_PARAMETERS, throttle);
    nowMs = Date.parse("2026-01-05T10:01:01Z");
    await run(middleware);
    serveParameters({ "/bridge/token": "rotated" });

    nowMs = Date.parse("2026-01-05T10:01:11Z");
    const recovered = await run(middleware);

    expect(secretValuesOf(recovered.event as object).get("ssm:/bridge/token")).toEqual(["rotated"]);
    expect(inputsOf(GET_PARAMETERS)).toHaveLength(3);
  });

  it("rejects after the grace period", async () => {
    serveParameters({ "/bridge/token": "last-good" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth, { clientOf: singleAttemptClient });
    await run(middleware);
    standin.handle(GET_PARAMETERS, throttle);

    nowMs = Date.parse("2026-01-05T10:03:00Z");
    const error = await failureOf(middleware);

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect(error.message).toBe("failed to fetch secret ssm:/bridge/token");
  });

  it("rejects a deleted parameter at once", async () => {
    serveParameters({ "/bridge/token": "last-good" });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = secretsOf(auth, { clientOf: singleAttemptClient });
    await run(middleware);
    serveParameters({});

    nowMs = Date.parse("2026-01-05T10:01:01Z");
    const error = await failureOf(middleware);

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
  });

  it("rejects throttling on the first fetch", async () => {
    standin.handle(GET_PARAMETERS, throttle);
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" });

    const error = await failureOf(secretsOf(auth, { clientOf: singleAttemptClient }));

    expect(error.code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
  });
});
