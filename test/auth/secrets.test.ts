import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import type middy from "@middy/core";
import { clearCache } from "@middy/util";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadSecrets, resolveSecMasterCredentials, resolveSecrets, secretValuesOf } from "../../lib/auth/secrets";
import { parseAuthSettings, type AuthSettings } from "../../lib/auth/settings";
import { BridgeError } from "../../lib/errors";

const ssm = mockClient(SSMClient);
const secretsManager = mockClient(SecretsManagerClient);

function authSettings(env: Record<string, string>, secretsTtlSeconds = 300): AuthSettings {
  const issues: string[] = [];
  const settings = parseAuthSettings(env, { requireAuth: true, secretsTtlSeconds }, issues);
  expect(issues).toEqual([]);
  return settings;
}

function invocation(): middy.Request {
  return { event: {}, context: {} as never, response: undefined, error: null, internal: {} };
}

async function run(middleware: middy.MiddlewareObj, request = invocation()): Promise<middy.Request> {
  await middleware.before!(request);
  return request;
}

describe("secrets from SSM and Secrets Manager", () => {
  beforeEach(() => {
    ssm.reset();
    secretsManager.reset();
    clearCache();
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    vi.setSystemTime(new Date("2026-01-05T10:00:00Z"));
  });

  afterEach(() => {
    clearCache();
    vi.useRealTimers();
  });

  it("fetches SSM parameters with decryption", async () => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: "/bridge/grafana", Type: "SecureString", Value: "new-secret\nold-secret" }] });
    const auth = authSettings({ BRIDGE_AUTH_GRAFANA: "grafana-hmac", BRIDGE_AUTH_GRAFANA_SECRETS: "ssm:/bridge/grafana" });

    const request = await run(loadSecrets({ authOf: () => auth }));

    expect(resolveSecrets(auth.sources.GRAFANA!.secrets, secretValuesOf(request.event as object))).toEqual(["new-secret", "old-secret"]);
    expect(ssm.commandCalls(GetParametersCommand)[0]!.args[0].input).toEqual({ Names: ["/bridge/grafana"], WithDecryption: true });
  });

  it("reuses fetched values within the TTL", async () => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: "/bridge/token", Type: "SecureString", Value: "first" }] });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = loadSecrets({ authOf: () => auth });

    await run(middleware);
    vi.setSystemTime(new Date("2026-01-05T10:00:59Z"));
    const second = await run(middleware);

    expect(ssm.commandCalls(GetParametersCommand)).toHaveLength(1);
    expect(secretValuesOf(second.event as object).get("ssm:/bridge/token")).toEqual(["first"]);
  });

  it("picks up a rotated value after the TTL", async () => {
    ssm.on(GetParametersCommand).resolvesOnce({ Parameters: [{ Name: "/bridge/token", Type: "SecureString", Value: "first" }] });
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: "/bridge/token", Type: "SecureString", Value: "rotated" }] });
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/token" }, 60);
    const middleware = loadSecrets({ authOf: () => auth });

    await run(middleware);
    vi.setSystemTime(new Date("2026-01-05T10:01:01Z"));
    const later = await run(middleware);

    expect(secretValuesOf(later.event as object).get("ssm:/bridge/token")).toEqual(["rotated"]);
  });

  it("selects a JSON key of a Secrets Manager secret", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"basic":"soc:pass-1","other":"x"}' });
    const auth = authSettings({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic" });

    const request = await run(loadSecrets({ authOf: () => auth }));

    expect(resolveSecrets(auth.sources.SENTINEL!.secrets, secretValuesOf(request.event as object))).toEqual(["soc:pass-1"]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: "bridge/sentinel" });
  });

  it("answers 503 when a secret cannot be fetched", async () => {
    ssm.on(GetParametersCommand).rejects(new Error("AccessDeniedException"));
    const auth = authSettings({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/bridge/denied" });

    const error = await run(loadSecrets({ authOf: () => auth })).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(BridgeError);
    expect((error as BridgeError).code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
    expect((error as BridgeError).statusCode).toBe(503);
  });

  it("answers 503 when the JSON key is absent", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"other":"x"}' });
    const auth = authSettings({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "secretsmanager:bridge/sentinel#basic" });

    const error = await run(loadSecrets({ authOf: () => auth })).catch((caught: unknown) => caught);

    expect((error as BridgeError).code).toBe("BRIDGE.SECRETS_UNAVAILABLE");
  });

  it("fetches SecMaster credentials the same way", async () => {
    ssm.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: "/bridge/ak", Type: "SecureString", Value: "AKEXAMPLE000000000001" },
        { Name: "/bridge/sk", Type: "SecureString", Value: "sk-example-not-real" },
      ],
    });
    const auth = authSettings({});
    const credentials = { kind: "aksk" as const, accessKey: "ssm:/bridge/ak", secretKey: "ssm:/bridge/sk" };

    const request = await run(loadSecrets({ authOf: () => auth, secmasterOf: () => credentials }));

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

    const request = await run(loadSecrets({ authOf: () => auth }));

    expect(ssm.calls()).toHaveLength(0);
    expect(resolveSecrets(auth.sources.SPLUNK!.secrets, secretValuesOf(request.event as object))).toEqual(["local-token"]);
  });
});
