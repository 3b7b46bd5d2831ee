import { describe, expect, it } from "vitest";
import { InboundAuth } from "../../lib/auth/inbound";
import { parseAuthSettings, type AuthSettings } from "../../lib/auth/settings";
import { loadConfig } from "../../lib/config";
import { ConfigError } from "../../lib/errors";

const SECMASTER = {
  SECMASTER_REGION: "cn-north-4",
  SECMASTER_PROJECT_ID: "p1",
  SECMASTER_WORKSPACE_ID: "w1",
  SECMASTER_WORKFLOW_ID: "f1",
  SECMASTER_AK: "AKEXAMPLE",
  SECMASTER_SK: "sk-example",
  BRIDGE_MODE: "direct",
};

function parse(env: Record<string, string>): { settings: AuthSettings; issues: string[] } {
  const issues: string[] = [];
  const settings = parseAuthSettings(env, { requireAuth: false, secretsTtlSeconds: 300 }, issues);
  return { settings, issues };
}

function configIssues(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...SECMASTER, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe("auth settings", () => {
  it("parses Grafana HMAC with a timestamp header", () => {
    const { settings, issues } = parse({
      BRIDGE_AUTH_GRAFANA: "grafana-hmac",
      BRIDGE_AUTH_GRAFANA_SECRETS: "env:GRAFANA_SECRET, ssm:/bridge/grafana-previous",
      BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER: "X-Grafana-Alerting-Timestamp",
      GRAFANA_SECRET: "s1",
    });

    expect(issues).toEqual([]);
    expect(settings.sources.GRAFANA!.hmac).toEqual({
      signatureHeader: "X-Grafana-Alerting-Signature",
      timestampHeader: "X-Grafana-Alerting-Timestamp",
      signedContent: "timestamp:body",
      encoding: "hex",
      maxAgeSeconds: 300,
    });
    expect(settings.sources.GRAFANA!.secrets).toEqual([
      { kind: "value", values: ["s1"], label: "env:GRAFANA_SECRET" },
      { kind: "ssm", name: "/bridge/grafana-previous", label: "ssm:/bridge/grafana-previous" },
    ]);
  });

  it("defaults the generic HMAC headers", () => {
    const { settings } = parse({ BRIDGE_AUTH_EDGE_WAF: "hmac", BRIDGE_AUTH_EDGE_WAF_SECRETS: "secretsmanager:waf#key" });

    expect(settings.sources.EDGE_WAF!.hmac?.signatureHeader).toBe("X-Signature");
    expect(settings.sources.EDGE_WAF!.hmac?.timestampHeader).toBe("X-Signature-Timestamp");
    expect(settings.sources.EDGE_WAF!.secrets[0]).toEqual({ kind: "secretsmanager", secretId: "waf", jsonKey: "key", label: "secretsmanager:waf#key" });
  });

  it("defaults SNS and SMN certificate hosts", () => {
    const { settings, issues } = parse({
      BRIDGE_AUTH_CLOUDWATCH: "sns",
      BRIDGE_AUTH_CLOUDWATCH_TOPICS: "arn:aws:sns:eu-west-1:111122223333:ops-alarms",
      BRIDGE_AUTH_HUAWEICLOUD_CES: "smn",
      BRIDGE_AUTH_HUAWEICLOUD_CES_TOPICS: "urn:smn:ap-southeast-3:0a1b:alarms",
      BRIDGE_AUTH_HUAWEICLOUD_CES_AUTO_CONFIRM: "true",
    });

    expect(issues).toEqual([]);
    expect(settings.sources.CLOUDWATCH!.certificateHosts.map((pattern) => pattern.text)).toEqual(["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"]);
    expect(settings.sources.CLOUDWATCH!.autoConfirm).toBe(false);
    expect(settings.sources.HUAWEICLOUD_CES!.certificateHosts.map((pattern) => pattern.text)).toEqual(["smn.*.myhuaweicloud.com"]);
    expect(settings.sources.HUAWEICLOUD_CES!.autoConfirm).toBe(true);
  });

  it("lists every problem at once", () => {
    const { issues } = parse({
      BRIDGE_AUTH_GRAFANA: "hmac-sha1",
      BRIDGE_AUTH_SPLUNK_SECRETS: "env:SPLUNK_TOKEN",
      BRIDGE_AUTH_ALERTMANAGER: "bearer",
      BRIDGE_AUTH_ALERTMANAGER_SECRETS: "plain-secret-value",
      BRIDGE_AUTH_ALERTMANAGER_TOPICS: "arn:x",
      BRIDGE_AUTH_SENTINEL: "basic",
      BRIDGE_AUTH_SENTINEL_SECRETS: "env:UNSET_VARIABLE",
      BRIDGE_AUTH_CLOUDWATCH: "sns",
      BRIDGE_AUTH_CLOUDWATCH_CERT_HOSTS: "*.com",
      BRIDGE_AUTH_WAZUH: "bearer",
      BRIDGE_AUTH_WAZUH_SECRETS: "env:WAZUH_TOKEN",
      BRIDGE_AUTH_WAZUH_ALLOWED_IPS: "10.0.0.0/33",
      WAZUH_TOKEN: "t",
      BRIDGE_AUTH_ELASTIC: "hmac",
      BRIDGE_AUTH_ELASTIC_SECRETS: "env:WAZUH_TOKEN",
      BRIDGE_AUTH_ELASTIC_MAX_AGE_SECONDS: "0",
    });

    expect(issues).toEqual([
      "BRIDGE_AUTH_ALERTMANAGER_TOPICS: does not apply to the bearer scheme; remove it",
      "BRIDGE_AUTH_ALERTMANAGER_SECRETS: a secret must be a reference (env:NAME, ssm:/name or secretsmanager:id[#key]), never the secret itself",
      "BRIDGE_AUTH_CLOUDWATCH_TOPICS: the sns scheme needs the allowed topic ARNs, comma-separated",
      'BRIDGE_AUTH_CLOUDWATCH_CERT_HOSTS: "*.com" is not a host pattern such as sns.*.amazonaws.com or 127.0.0.1:8443',
      "BRIDGE_AUTH_ELASTIC_MAX_AGE_SECONDS: must be between 1 and 86400",
      "BRIDGE_AUTH_GRAFANA: must be one of none, bearer, basic, path-token, hmac, grafana-hmac, sns, smn",
      "BRIDGE_AUTH_SENTINEL_SECRETS: env:UNSET_VARIABLE names an unset environment variable",
      "BRIDGE_AUTH_SPLUNK_SECRETS: set BRIDGE_AUTH_SPLUNK to the scheme (none, bearer, basic, path-token, hmac, grafana-hmac, sns, smn) as well",
      "BRIDGE_AUTH_WAZUH_ALLOWED_IPS: not CIDR blocks: 10.0.0.0/33",
    ]);
  });

  it("reports a negative max age by its range", () => {
    const { issues } = parse({ BRIDGE_AUTH_ELASTIC: "hmac", BRIDGE_AUTH_ELASTIC_SECRETS: "ssm:/e", BRIDGE_AUTH_ELASTIC_MAX_AGE_SECONDS: "-5" });

    expect(issues).toEqual(["BRIDGE_AUTH_ELASTIC_MAX_AGE_SECONDS: must be between 1 and 86400"]);
  });

  it("never repeats a secret in an issue", () => {
    const { issues } = parse({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "hunter2-very-secret" });

    expect(issues.join("\n")).not.toContain("hunter2-very-secret");
  });

  it("rejects an unsigned timestamp", () => {
    const { issues } = parse({ BRIDGE_AUTH_EDGE_WAF: "hmac", BRIDGE_AUTH_EDGE_WAF_SECRETS: "ssm:/w", BRIDGE_AUTH_EDGE_WAF_SIGNED_CONTENT: "body" });

    expect(issues).toEqual(["BRIDGE_AUTH_EDGE_WAF_SIGNED_CONTENT: body leaves the timestamp header unsigned; use timestamp:body or timestamp.body"]);
  });

  it("requires user:password pairs for Basic", () => {
    const { issues } = parse({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "env:BASIC", BASIC: "no-colon" });

    expect(issues).toEqual(["BRIDGE_AUTH_SENTINEL_SECRETS: env:BASIC must contain user:password pairs"]);
  });

  it("rejects settings for an unknown source", () => {
    const { settings } = parse({ BRIDGE_AUTH_GRAFNA: "none" });

    expect(() => new InboundAuth(settings, ["grafana"])).toThrow(ConfigError);
  });

  it.each([
    ["BRIDGE_AUTH_CLOUDWATCH_TOPIC", "arn:aws:sns:eu-west-1:111122223333:ops", "BRIDGE_AUTH_CLOUDWATCH_TOPICS"],
    ["BRIDGE_AUTH_SPLUNK_SECRET", "env:SPLUNK_TOKEN", "BRIDGE_AUTH_SPLUNK_SECRETS"],
    ["BRIDGE_AUTH_WAZUH_ALLOWED_IP", "203.0.113.0/24", "BRIDGE_AUTH_WAZUH_ALLOWED_IPS"],
    ["BRIDGE_AUTH_HUAWEICLOUD_CES_CERT_HOST", "smn.*.myhuaweicloud.com", "BRIDGE_AUTH_HUAWEICLOUD_CES_CERT_HOSTS"],
    ["BRIDGE_AUTH_GRAFANA_SIGNATURE_HAEDER", "X-Sig", "BRIDGE_AUTH_GRAFANA_SIGNATURE_HEADER"],
    ["BRIDGE_AUTH_ELASTIC_MAX_AGE_SECOND", "60", "BRIDGE_AUTH_ELASTIC_MAX_AGE_SECONDS"],
  ])("suggests the option for %s", (name, value, expected) => {
    const { issues } = parse({ [name]: value });

    expect(issues).toEqual([`${name}: unknown setting; did you mean ${expected}?`]);
  });

  it("reads a near-miss name with a scheme value as a source", () => {
    const { settings, issues } = parse({ BRIDGE_AUTH_EDGE_TOPIC: "none" });

    expect(issues).toEqual([]);
    expect(settings.sources.EDGE_TOPIC?.scheme).toBe("none");
  });

  it("keeps the scheme message for an unrelated source name", () => {
    const { issues } = parse({ BRIDGE_AUTH_GRAFANA: "hmca" });

    expect(issues).toEqual(["BRIDGE_AUTH_GRAFANA: must be one of none, bearer, basic, path-token, hmac, grafana-hmac, sns, smn"]);
  });
});

describe("auth settings in the configuration", () => {
  it("requires authentication on Lambda", () => {
    const config = loadConfig({ ...SECMASTER, AWS_LAMBDA_FUNCTION_NAME: "ingest" });

    expect(config.auth.requireAuth).toBe(true);
  });

  it("leaves authentication optional locally", () => {
    const config = loadConfig(SECMASTER);

    expect(config.auth.requireAuth).toBe(false);
  });

  it("rejects turning authentication off on Lambda", () => {
    expect(configIssues({ AWS_LAMBDA_FUNCTION_NAME: "ingest", BRIDGE_REQUIRE_AUTH: "false" })).toContain(
      "BRIDGE_REQUIRE_AUTH: cannot be false on AWS Lambda; set BRIDGE_AUTH_<SOURCE>=none for a source that is meant to be open",
    );
  });

  it("reports auth and other problems together", () => {
    const issues = configIssues({ BRIDGE_AUTH_SPLUNK: "token", BRIDGE_MAX_JSON_DEPTH: "deep", BRIDGE_TYPO: "1" });

    expect(issues).toContain("BRIDGE_TYPO: unknown setting; check the spelling against the README's settings table");
    expect(issues).toContain("BRIDGE_MAX_JSON_DEPTH: must be a whole number");
    expect(issues).toContain("BRIDGE_AUTH_SPLUNK: must be one of none, bearer, basic, path-token, hmac, grafana-hmac, sns, smn");
  });

  it("reads the limits", () => {
    const config = loadConfig({ ...SECMASTER, BRIDGE_MAX_JSON_DEPTH: "16", BRIDGE_MAX_ALERTS_PER_DELIVERY: "10" });

    expect(config.ingest.maxJsonDepth).toBe(16);
    expect(config.ingest.maxJsonKeys).toBe(100_000);
    expect(config.ingest.maxStringLength).toBe(1_048_576);
    expect(config.ingest.maxAlertsPerDelivery).toBe(10);
  });
});
