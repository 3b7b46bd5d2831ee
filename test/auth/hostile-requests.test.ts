import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateFetcher, type FetchFunction } from "../../lib/auth/certificates";
import { InboundAuth } from "../../lib/auth/inbound";
import type { LocalBridge } from "../../lib/local/bridge";
import { BUILT_IN_SOURCES } from "../../lib/sources/index";
import { readFixture, readJsonFixture } from "../helpers/fixtures";
import { startTestBridge } from "../helpers/local-bridge";
import { TEST_SECRET_VALUES, TEST_SECRETS } from "../helpers/test-secrets";
import { createTestPki, fetchTrusting, signSmnMessage, signSnsMessage, startCertificateServer, type CertificateServer, type TestPki } from "./pki";

interface GrafanaVector {
  secret: string;
  request: { headers: Record<string, string>; body: string };
  expected: { signature_with_timestamp: string; signature_body_only: string };
}

const grafana = readJsonFixture<GrafanaVector>("auth/grafana-firing-hmac-request.json");
const GRAFANA_TIMESTAMP = 1715681230;
// The bridge's clock for HMAC timestamps: ten seconds after the Grafana vector was signed.
const NOW_MS = (GRAFANA_TIMESTAMP + 10) * 1000;

const SECRETS = TEST_SECRETS;
const SNS_TOPIC = "arn:aws:sns:eu-west-1:111122223333:ops-alarms";
const SMN_TOPIC = "urn:smn:ap-southeast-3:0a1b2c3d4e5f60718293a4b5c6d7e8f9:ces-alarms-to-bridge";

interface Answer {
  status: number;
  contentType: string;
  /** The `WWW-Authenticate` header, or null. */
  challenge: string | null;
  json: any;
  text: string;
}

interface Sent {
  source: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function hmacHex(key: string, content: string | Buffer): string {
  return createHmac("sha256", key).update(content).digest("hex");
}

function grafanaHeaders(body: string | Buffer, timestamp = GRAFANA_TIMESTAMP): Record<string, string> {
  const content = Buffer.concat([Buffer.from(`${timestamp}:`), Buffer.from(body)]);
  return {
    "content-type": "application/json",
    "x-grafana-alerting-timestamp": String(timestamp),
    "x-grafana-alerting-signature": hmacHex(SECRETS.grafana, content),
  };
}

const bearer = (token: string) => ({ "content-type": "application/json", authorization: `Bearer ${token}` });
const basic = (credentials: string) => ({ "content-type": "application/json", authorization: `Basic ${Buffer.from(credentials).toString("base64")}` });

function nested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

describe("inbound authentication and hostile input", () => {
  let bridge: LocalBridge;
  let pki: TestPki;
  let otherPki: TestPki;
  let certificates: CertificateServer;
  const fetched: string[] = [];
  const logged: string[] = [];
  const originalStdout = process.stdout.write.bind(process.stdout);
  const originalStderr = process.stderr.write.bind(process.stderr);

  function capture(write: typeof process.stdout.write): typeof process.stdout.write {
    return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    });
  }

  async function send(request: Sent): Promise<Answer> {
    const query = request.query === undefined ? "" : `?${request.query}`;
    const response = await fetch(`${bridge.url}/v1/alerts/${request.source}${query}`, {
      method: "POST",
      headers: request.headers ?? { "content-type": "application/json" },
      body: request.body ?? "",
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", challenge: response.headers.get("www-authenticate"), json, text };
  }

  const certificateUrl = (path = "/SimpleNotificationService-test.pem") => `${certificates.origin}${path}`;

  function snsNotification(overrides: Record<string, unknown> = {}, version: "1" | "2" = "2", key: TestPki = pki): Record<string, unknown> {
    const message = { ...readJsonFixture<Record<string, unknown>>("payloads/cloudwatch-sns-http-alarm.json"), ...overrides };
    return signSnsMessage(message, key, (overrides.SigningCertURL as string | undefined) ?? certificateUrl(), version);
  }

  function smnNotification(overrides: Record<string, unknown> = {}, key: TestPki = pki): Record<string, unknown> {
    const message = { ...readJsonFixture<Record<string, unknown>>("payloads/ces-smn-alarm-notification.json"), ...overrides };
    return signSmnMessage(message, key, certificateUrl("/smn/SMN_test.pem"));
  }

  beforeAll(async () => {
    pki = createTestPki();
    otherPki = createTestPki();
    certificates = await startCertificateServer(pki);
    const hosts = `127.0.0.1:${certificates.port}`;
    process.stdout.write = capture(originalStdout);
    process.stderr.write = capture(originalStderr);

    bridge = await startTestBridge({
      env: {
        BRIDGE_REQUIRE_AUTH: "true",
        BRIDGE_MAX_BODY_BYTES: "262144",
        BRIDGE_MAX_STRING_LENGTH: "10000",
        BRIDGE_MAX_JSON_KEYS: "2000",
        BRIDGE_MAX_JSON_DEPTH: "32",
        BRIDGE_MAX_ALERTS_PER_DELIVERY: "50",
        BRIDGE_AUTH_GRAFANA: "grafana-hmac",
        BRIDGE_AUTH_GRAFANA_SECRETS: "env:TEST_GRAFANA_SECRET",
        BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER: "X-Grafana-Alerting-Timestamp",
        TEST_GRAFANA_SECRET: SECRETS.grafana,
        BRIDGE_AUTH_ALERTMANAGER: "bearer",
        BRIDGE_AUTH_ALERTMANAGER_SECRETS: "env:TEST_AM_TOKENS",
        TEST_AM_TOKENS: `${SECRETS.alertmanagerCurrent}\n${SECRETS.alertmanagerPrevious}`,
        BRIDGE_AUTH_SENTINEL: "basic",
        BRIDGE_AUTH_SENTINEL_SECRETS: "env:TEST_SENTINEL_BASIC",
        TEST_SENTINEL_BASIC: `soc-bridge:${SECRETS.sentinelPassword}`,
        BRIDGE_AUTH_SPLUNK: "path-token",
        BRIDGE_AUTH_SPLUNK_SECRETS: "env:TEST_SPLUNK_TOKEN",
        TEST_SPLUNK_TOKEN: SECRETS.splunk,
        BRIDGE_AUTH_ELASTIC: "hmac",
        BRIDGE_AUTH_ELASTIC_SECRETS: "env:TEST_ELASTIC_KEY",
        BRIDGE_AUTH_ELASTIC_SIGNATURE_ENCODING: "base64",
        TEST_ELASTIC_KEY: SECRETS.elastic,
        BRIDGE_AUTH_DATADOG: "bearer",
        BRIDGE_AUTH_DATADOG_HEADER: "X-Api-Key",
        BRIDGE_AUTH_DATADOG_SECRETS: "env:TEST_DATADOG_KEY",
        TEST_DATADOG_KEY: SECRETS.datadog,
        BRIDGE_AUTH_WAZUH: "bearer",
        BRIDGE_AUTH_WAZUH_SECRETS: "env:TEST_WAZUH_TOKEN",
        BRIDGE_AUTH_WAZUH_ALLOWED_IPS: "203.0.113.0/24,2001:db8::/32",
        TEST_WAZUH_TOKEN: SECRETS.wazuh,
        BRIDGE_AUTH_GUARDDUTY: "none",
        BRIDGE_AUTH_CLOUDWATCH: "sns",
        BRIDGE_AUTH_CLOUDWATCH_TOPICS: SNS_TOPIC,
        BRIDGE_AUTH_CLOUDWATCH_CERT_HOSTS: hosts,
        BRIDGE_AUTH_CLOUDWATCH_CONFIRM_HOSTS: hosts,
        BRIDGE_AUTH_CLOUDWATCH_AUTO_CONFIRM: "true",
        BRIDGE_AUTH_HUAWEICLOUD_CES: "smn",
        BRIDGE_AUTH_HUAWEICLOUD_CES_TOPICS: SMN_TOPIC,
        BRIDGE_AUTH_HUAWEICLOUD_CES_CERT_HOSTS: hosts,
      },
    });

    // The bridge's HMAC clock is fixed at the Grafana vector; certificates are checked against the
    // real clock because the test certificate was made today. Every download goes through the spy.
    const trusting = fetchTrusting(pki);
    const spy: FetchFunction = (url, init) => {
      fetched.push(url);
      return trusting(url, init);
    };
    bridge.runtime.inbound = new InboundAuth(bridge.config.auth, Object.keys(BUILT_IN_SOURCES), {
      fetch: spy,
      now: () => NOW_MS,
      certificates: new CertificateFetcher({ fetch: spy }),
    });
  });

  afterAll(async () => {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
    await bridge?.close();
    await certificates?.close();
  });

  const alertmanagerGroup = () => readFixture("payloads/alertmanager-firing-group.json");
  const alertmanagerWith = (mutate: (group: any) => void) => {
    const group = JSON.parse(alertmanagerGroup());
    mutate(group);
    return JSON.stringify(group);
  };
  const grafanaBody = grafana.request.body;

  // Each case: what was sent, and the status and problem type it must get.
  const hostileCases: Array<{ name: string; request: () => Sent; status: number; type: string }> = [
    // Grafana HMAC over "<timestamp>:<body>".
    { name: "grafana without signature", request: () => ({ source: "grafana", headers: { "content-type": "application/json", "x-grafana-alerting-timestamp": String(GRAFANA_TIMESTAMP) }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana without timestamp", request: () => ({ source: "grafana", headers: { "content-type": "application/json", "x-grafana-alerting-signature": grafana.expected.signature_with_timestamp }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana wrong signature", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-signature": "0".repeat(64) }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana body-only signature while a timestamp is required", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-signature": grafana.expected.signature_body_only }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana expired timestamp, signed correctly", request: () => ({ source: "grafana", headers: grafanaHeaders(grafanaBody, GRAFANA_TIMESTAMP - 3600), body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana timestamp an hour ahead", request: () => ({ source: "grafana", headers: grafanaHeaders(grafanaBody, GRAFANA_TIMESTAMP + 3600), body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana replayed signature with a fresh timestamp", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-timestamp": String(GRAFANA_TIMESTAMP + 5) }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana body changed after signing", request: () => ({ source: "grafana", headers: grafanaHeaders(grafanaBody), body: grafanaBody.replace("212.4", "999.9") }), status: 401, type: "auth-failed" },
    { name: "grafana signature not hex", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-signature": "z".repeat(64) }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana signature truncated", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-signature": grafana.expected.signature_with_timestamp.slice(0, 63) }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana timestamp not a number", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "x-grafana-alerting-timestamp": "yesterday" }, body: grafanaBody }), status: 401, type: "auth-failed" },
    { name: "grafana signed empty body", request: () => ({ source: "grafana", headers: grafanaHeaders(""), body: "" }), status: 400, type: "body-empty" },
    { name: "grafana signed truncated JSON", request: () => ({ source: "grafana", headers: grafanaHeaders(grafanaBody.slice(0, 500)), body: grafanaBody.slice(0, 500) }), status: 400, type: "body-not-json" },
    { name: "grafana signed invalid UTF-8", request: () => ({ source: "grafana", headers: grafanaHeaders(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])), body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]) }), status: 400, type: "body-not-utf8" },
    { name: "grafana signed deep nesting", request: () => ({ source: "grafana", headers: grafanaHeaders(nested(40)), body: nested(40) }), status: 422, type: "json-too-deep" },
    { name: "grafana signed __proto__ key", request: () => ({ source: "grafana", headers: grafanaHeaders('{"__proto__":{"polluted":true}}'), body: '{"__proto__":{"polluted":true}}' }), status: 422, type: "json-key-forbidden" },
    { name: "grafana signed as text/plain", request: () => ({ source: "grafana", headers: { ...grafanaHeaders(grafanaBody), "content-type": "text/plain" }, body: grafanaBody }), status: 415, type: "content-type-unsupported" },

    // Alertmanager bearer token.
    { name: "alertmanager without Authorization", request: () => ({ source: "alertmanager", body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager wrong token", request: () => ({ source: "alertmanager", headers: bearer("am-token-wrong-0000000000000000"), body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager token under the Basic scheme", request: () => ({ source: "alertmanager", headers: { "content-type": "application/json", authorization: `Basic ${SECRETS.alertmanagerCurrent}` }, body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager empty bearer token", request: () => ({ source: "alertmanager", headers: { "content-type": "application/json", authorization: "Bearer " }, body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager truncated token", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent.slice(0, -1)), body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager token sent twice", request: () => ({ source: "alertmanager", headers: { "content-type": "application/json", authorization: `Bearer ${SECRETS.alertmanagerCurrent}, Bearer ${SECRETS.alertmanagerCurrent}` }, body: alertmanagerGroup() }), status: 401, type: "auth-failed" },
    { name: "alertmanager invalid JSON", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: "{not json" }), status: 400, type: "body-not-json" },
    { name: "alertmanager truncated JSON", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerGroup().slice(0, 200) }), status: 400, type: "body-not-json" },
    { name: "alertmanager deep nesting", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: `{"a":${nested(100)}}` }), status: 422, type: "json-too-deep" },
    { name: "alertmanager huge string", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerWith((group) => (group.alerts[0].annotations.description = "x".repeat(20_000))) }), status: 413, type: "json-string-too-long" },
    { name: "alertmanager too many keys", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerWith((group) => (group.alerts[0].labels = Object.fromEntries(Array.from({ length: 2500 }, (_, index) => [`k${index}`, "v"])))) }), status: 413, type: "json-too-many-keys" },
    { name: "alertmanager __proto__ in labels", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerGroup().replace('"labels": {', '"labels": {"__proto__": {"isAdmin": true}, ') }), status: 422, type: "json-key-forbidden" },
    { name: "alertmanager escaped __proto__ key", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: '{"alerts":[{"\\u005f_proto__":{"x":1}}]}' }), status: 422, type: "json-key-forbidden" },
    { name: "alertmanager constructor.prototype chain", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: '{"constructor":{"prototype":{"polluted":true}}}' }), status: 422, type: "json-key-forbidden" },
    { name: "alertmanager prototype key", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: '{"alerts":[],"prototype":1}' }), status: 422, type: "json-key-forbidden" },
    { name: "alertmanager XML content type", request: () => ({ source: "alertmanager", headers: { ...bearer(SECRETS.alertmanagerCurrent), "content-type": "application/xml" }, body: "<alerts/>" }), status: 415, type: "content-type-unsupported" },
    { name: "alertmanager text/plain", request: () => ({ source: "alertmanager", headers: { ...bearer(SECRETS.alertmanagerCurrent), "content-type": "text/plain" }, body: alertmanagerGroup() }), status: 415, type: "content-type-unsupported" },
    { name: "alertmanager form body", request: () => ({ source: "alertmanager", headers: { ...bearer(SECRETS.alertmanagerCurrent), "content-type": "application/x-www-form-urlencoded" }, body: "status=firing" }), status: 415, type: "content-type-unsupported" },
    { name: "alertmanager Latin-1 charset", request: () => ({ source: "alertmanager", headers: { ...bearer(SECRETS.alertmanagerCurrent), "content-type": "application/json; charset=iso-8859-1" }, body: alertmanagerGroup() }), status: 415, type: "content-type-unsupported" },
    { name: "alertmanager invalid UTF-8", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }), status: 400, type: "body-not-utf8" },
    { name: "alertmanager empty body", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: "" }), status: 400, type: "body-empty" },
    { name: "alertmanager blank body", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: " \n\t " }), status: 400, type: "body-empty" },
    { name: "alertmanager base64 text as body", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: Buffer.from(alertmanagerGroup()).toString("base64") }), status: 400, type: "body-not-json" },
    { name: "alertmanager body over the size limit", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: JSON.stringify({ padding: Array.from({ length: 40 }, () => "y".repeat(8000)) }) }), status: 413, type: "body-too-large" },
    { name: "alertmanager too many alerts", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerWith((group) => (group.alerts = Array.from({ length: 60 }, (_, index) => ({ ...group.alerts[0], fingerprint: `f${index}` })))) }), status: 413, type: "too-many-alerts" },
    { name: "alertmanager JSON null", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: "null" }), status: 422, type: "payload-invalid" },
    { name: "alertmanager JSON array", request: () => ({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: "[]" }), status: 422, type: "payload-invalid" },

    // Sentinel Basic credentials.
    { name: "sentinel without credentials", request: () => ({ source: "sentinel", body: readFixture("payloads/sentinel-incident-created.json") }), status: 401, type: "auth-failed" },
    { name: "sentinel wrong password", request: () => ({ source: "sentinel", headers: basic("soc-bridge:not-the-password"), body: readFixture("payloads/sentinel-incident-created.json") }), status: 401, type: "auth-failed" },
    { name: "sentinel Basic value not base64", request: () => ({ source: "sentinel", headers: { "content-type": "application/json", authorization: "Basic ***" }, body: readFixture("payloads/sentinel-incident-created.json") }), status: 401, type: "auth-failed" },
    { name: "sentinel Basic value without colon", request: () => ({ source: "sentinel", headers: basic("soc-bridge"), body: readFixture("payloads/sentinel-incident-created.json") }), status: 401, type: "auth-failed" },

    // Splunk path token in the query string.
    { name: "splunk without token", request: () => ({ source: "splunk", body: readFixture("payloads/splunk-once.json") }), status: 401, type: "auth-failed" },
    { name: "splunk wrong token", request: () => ({ source: "splunk", query: "token=splunk-path-token-wrong", body: readFixture("payloads/splunk-once.json") }), status: 401, type: "auth-failed" },
    { name: "splunk token in a header instead of the URL", request: () => ({ source: "splunk", headers: bearer(SECRETS.splunk), body: readFixture("payloads/splunk-once.json") }), status: 401, type: "auth-failed" },

    // Elastic generic HMAC, base64, over "<timestamp>:<body>".
    { name: "elastic hex signature where base64 is configured", request: () => ({ source: "elastic", headers: { "content-type": "application/json", "x-signature-timestamp": String(GRAFANA_TIMESTAMP), "x-signature": hmacHex(SECRETS.elastic, `${GRAFANA_TIMESTAMP}:{}`) }, body: "{}" }), status: 401, type: "auth-failed" },
    { name: "elastic without timestamp", request: () => ({ source: "elastic", headers: { "content-type": "application/json", "x-signature": createHmac("sha256", SECRETS.elastic).update("{}").digest("base64") }, body: "{}" }), status: 401, type: "auth-failed" },

    // Amazon SNS signatures.
    { name: "sns unsigned sample with its AWS certificate URL (foreign host here)", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain; charset=UTF-8" }, body: readFixture("payloads/cloudwatch-sns-http-alarm.json") }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL over http", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: `http://127.0.0.1:${certificates.port}/cert.pem` })) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL not ending in .pem", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: certificateUrl("/cert.txt") })) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL on a foreign host", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: "https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem" })) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL with user info", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: `https://127.0.0.1:${certificates.port}@attacker.example/cert.pem` })) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL on another port", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: `https://127.0.0.1:${certificates.port + 1}/cert.pem` })) }), status: 401, type: "auth-failed" },
    { name: "sns message forged with another key", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({}, "2", otherPki)) }), status: 401, type: "auth-failed" },
    { name: "sns message changed after signing", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify({ ...snsNotification(), Subject: "OK: nothing to see" }) }), status: 401, type: "auth-failed" },
    { name: "sns signed for a topic not on the allow-list", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ TopicArn: "arn:aws:sns:eu-west-1:444455556666:other" })) }), status: 403, type: "auth-forbidden" },
    { name: "sns unknown SignatureVersion", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify({ ...snsNotification(), SignatureVersion: "3" }) }), status: 401, type: "auth-failed" },
    { name: "sns unknown message type", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify({ ...snsNotification(), Type: "Bogus" }) }), status: 401, type: "auth-failed" },
    { name: "sns raw message delivery without signature", request: () => ({ source: "cloudwatch", headers: { "content-type": "application/json" }, body: JSON.parse(readFixture("payloads/cloudwatch-sns-http-alarm.json")).Message }), status: 401, type: "auth-failed" },
    { name: "sns type header disagrees with the body", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain", "x-amz-sns-message-type": "SubscriptionConfirmation" }, body: JSON.stringify(snsNotification()) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL answering 404", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: certificateUrl("/missing.pem") })) }), status: 401, type: "auth-failed" },
    { name: "sns certificate URL redirecting", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(snsNotification({ SigningCertURL: certificateUrl("/redirect.pem") })) }), status: 401, type: "auth-failed" },
    { name: "sns text/plain body that is not JSON", request: () => ({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: "Type=Notification" }), status: 400, type: "body-not-json" },

    // Huawei Cloud SMN signatures.
    { name: "smn unsigned sample with its Huawei certificate URL (foreign host here)", request: () => ({ source: "huaweicloud-ces", body: readFixture("payloads/ces-smn-alarm-notification.json") }), status: 401, type: "auth-failed" },
    { name: "smn message forged with another key", request: () => ({ source: "huaweicloud-ces", body: JSON.stringify(smnNotification({}, otherPki)) }), status: 401, type: "auth-failed" },
    { name: "smn message changed after signing", request: () => ({ source: "huaweicloud-ces", body: JSON.stringify({ ...smnNotification(), subject: "[Minor] nothing" }) }), status: 401, type: "auth-failed" },
    { name: "smn signed for a topic not on the allow-list", request: () => ({ source: "huaweicloud-ces", body: JSON.stringify(smnNotification({ topic_urn: "urn:smn:ap-southeast-3:ffffffffffffffffffffffffffffffff:other" })) }), status: 403, type: "auth-forbidden" },
    { name: "smn unknown signature_version", request: () => ({ source: "huaweicloud-ces", body: JSON.stringify({ ...smnNotification(), signature_version: "v2" }) }), status: 401, type: "auth-failed" },
    { name: "smn message type without a signature scheme", request: () => ({ source: "huaweicloud-ces", body: JSON.stringify({ ...smnNotification(), type: "HttpSubscriptionUserConfirm" }) }), status: 401, type: "auth-failed" },

    // Source IP allow-list, form bodies, unconfigured and unknown sources.
    { name: "wazuh valid token from an address outside the allow-list", request: () => ({ source: "wazuh", headers: bearer(SECRETS.wazuh), body: readFixture("payloads/wazuh-raw-alert-sshd-bruteforce.json") }), status: 403, type: "auth-forbidden" },
    { name: "datadog form with the wrong API key", request: () => ({ source: "datadog", headers: { "content-type": "application/x-www-form-urlencoded", "x-api-key": "datadog-api-key-wrong" }, body: "id=1" }), status: 401, type: "auth-failed" },
    { name: "datadog form with a __proto__ field", request: () => ({ source: "datadog", headers: { "content-type": "application/x-www-form-urlencoded", "x-api-key": SECRETS.datadog }, body: "__proto__=1&id=2" }), status: 422, type: "json-key-forbidden" },
    { name: "datadog multipart body", request: () => ({ source: "datadog", headers: { "content-type": "multipart/form-data; boundary=x", "x-api-key": SECRETS.datadog }, body: "--x--" }), status: 415, type: "content-type-unsupported" },
    { name: "securityhub without BRIDGE_AUTH_SECURITYHUB while authentication is required", request: () => ({ source: "securityhub", body: readFixture("payloads/securityhub-imported-single.json") }), status: 403, type: "auth-forbidden" },
    { name: "unknown source", request: () => ({ source: "no-such-tool", headers: bearer(SECRETS.alertmanagerCurrent), body: "{}" }), status: 404, type: "source-unknown" },
  ];

  it("lists at least 50 hostile requests", () => {
    expect(hostileCases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(hostileCases)("rejects $name with $status $type", async ({ request, status, type }) => {
    const answer = await send(request());

    expect(answer.status).toBe(status);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.type).toBe(`urn:secmaster-bridge:problem:${type}`);
    expect(typeof answer.json.fix).toBe("string");
    expect(typeof answer.json.field).toBe("string");
    if (status === 401 || status === 403) {
      expect(answer.json.detail).toBe("authentication failed");
      expect(answer.json.field).toBe("(request)");
    }
    if (status === 401) expect(answer.challenge).toMatch(/^[A-Za-z0-9-]+ realm="secmaster-bridge\/[a-z-]+"/);
    else expect(answer.challenge).toBeNull();
  });

  it.each([
    { source: "alertmanager", challenge: 'Bearer realm="secmaster-bridge/alertmanager"' },
    { source: "sentinel", challenge: 'Basic realm="secmaster-bridge/sentinel", charset="UTF-8"' },
    { source: "datadog", challenge: 'ApiKey realm="secmaster-bridge/datadog", header="x-api-key"' },
    { source: "splunk", challenge: 'PathToken realm="secmaster-bridge/splunk", parameter="token"' },
    { source: "grafana", challenge: 'HMAC-SHA256 realm="secmaster-bridge/grafana", header="x-grafana-alerting-signature"' },
    { source: "elastic", challenge: 'HMAC-SHA256 realm="secmaster-bridge/elastic", header="x-signature"' },
    { source: "cloudwatch", challenge: 'SNS-Signature realm="secmaster-bridge/cloudwatch"' },
    { source: "huaweicloud-ces", challenge: 'SMN-Signature realm="secmaster-bridge/huaweicloud-ces"' },
  ])("challenges $source with its scheme on 401", async ({ source, challenge }) => {
    const answer = await send({ source, headers: { "content-type": "application/json" }, body: "{}" });

    expect(answer.status).toBe(401);
    expect(answer.challenge).toBe(challenge);
  });

  it("lists the built-in source ids for an unknown source", async () => {
    const answer = await send({ source: "no-such-tool", body: "{}" });

    expect(answer.json.fix).toBe(
      "post to /v1/alerts/{source} with a built-in source id (alertmanager, cloudwatch, datadog, elastic, grafana, guardduty, huaweicloud-ces, securityhub, sentinel, splunk, wazuh) or a generic source id of BRIDGE_GENERIC_MAPPINGS",
    );
  });

  it("starts no workflow instance for any hostile request", () => {
    expect(bridge.emulator!.instances()).toHaveLength(0);
  });

  it("never downloads from a host outside the allow-list", () => {
    expect(fetched.length).toBeGreaterThan(0);
    for (const url of fetched) expect(url.startsWith(`${certificates.origin}/`)).toBe(true);
    expect(certificates.requests.every((path) => !path.includes("attacker"))).toBe(true);
  });

  it("accepts the Grafana HMAC test vector as sent", async () => {
    const answer = await send({ source: "grafana", headers: grafana.request.headers, body: grafanaBody });

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["created", "created"]);
  });

  it("accepts signature headers in any letter case", async () => {
    const headers = { "Content-Type": "application/json", "X-GRAFANA-ALERTING-TIMESTAMP": String(GRAFANA_TIMESTAMP), "x-Grafana-Alerting-Signature": grafana.expected.signature_with_timestamp };

    const answer = await send({ source: "grafana", headers, body: grafanaBody });

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["duplicate", "duplicate"]);
  });

  it("accepts the previous bearer token during rotation", async () => {
    const current = await send({ source: "alertmanager", headers: bearer(SECRETS.alertmanagerCurrent), body: alertmanagerGroup() });
    const previous = await send({ source: "alertmanager", headers: { "content-type": "application/json", authorization: `bearer ${SECRETS.alertmanagerPrevious}` }, body: alertmanagerGroup() });

    expect(current.status).toBe(200);
    expect(previous.status).toBe(200);
    expect(previous.json.results.every((result: { status: string }) => result.status === "duplicate")).toBe(true);
  });

  it("accepts Basic credentials, a path token and an explicit none", async () => {
    const sentinel = await send({ source: "sentinel", headers: basic(`soc-bridge:${SECRETS.sentinelPassword}`), body: readFixture("payloads/sentinel-incident-created.json") });
    const splunk = await send({ source: "splunk", query: `token=${SECRETS.splunk}`, body: readFixture("payloads/splunk-once.json") });
    const guardduty = await send({ source: "guardduty", body: readFixture("payloads/guardduty-ssh-bruteforce.json") });

    expect(sentinel.status).toBe(200);
    expect(splunk.status).toBe(200);
    expect(guardduty.status).toBe(200);
  });

  it("accepts a Datadog form body with its API key", async () => {
    const fields = readJsonFixture<Record<string, string>>("payloads/datadog-custom-triggered.json");

    const answer = await send({
      source: "datadog",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-api-key": SECRETS.datadog },
      body: new URLSearchParams(fields).toString(),
    });

    expect(answer.status).toBe(200);
    expect(answer.json.results[0].status).toBe("created");
  });

  it("accepts SNS notifications signed with SignatureVersion 2 and 1", async () => {
    const version2 = await send({ source: "cloudwatch", headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification" }, body: JSON.stringify(snsNotification()) });
    const version1 = await send({ source: "cloudwatch", headers: { "content-type": "text/plain; charset=UTF-8" }, body: JSON.stringify(snsNotification({}, "1")) });

    expect(version2.status).toBe(200);
    expect(version2.json.results[0].status).toBe("created");
    expect(version1.status).toBe(200);
    expect(version1.json.results[0].status).toBe("duplicate");
  });

  it("downloads each signing certificate once", () => {
    const downloads = certificates.requests.filter((path) => path === "/SimpleNotificationService-test.pem");

    expect(downloads).toHaveLength(1);
  });

  it("confirms a signed SNS subscription only on an allowed host", async () => {
    const confirmation = readJsonFixture<Record<string, unknown>>("payloads/cloudwatch-sns-http-subscription-confirmation.json");
    const allowed = signSnsMessage({ ...confirmation, SubscribeURL: `${certificates.origin}/confirm?Token=abc` }, pki, certificateUrl());
    const foreign = signSnsMessage({ ...confirmation, MessageId: "foreign-1", SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc" }, pki, certificateUrl());

    const first = await send({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(allowed) });
    const second = await send({ source: "cloudwatch", headers: { "content-type": "text/plain" }, body: JSON.stringify(foreign) });

    expect(first.status).toBe(200);
    expect(first.json.results[0].status).toBe("skipped");
    expect(certificates.requests).toContain("/confirm?Token=abc");
    expect(second.status).toBe(200);
    expect(fetched.some((url) => url.includes("amazonaws.com"))).toBe(false);
  });

  it("accepts an SMN notification signed with the certificate's algorithm", async () => {
    const answer = await send({ source: "huaweicloud-ces", body: JSON.stringify(smnNotification()) });

    expect(answer.status).toBe(200);
    expect(answer.json.results[0].status).toBe("created");
  });

  it("logs rejections with source and reason but never a secret", () => {
    const output = logged.join("");
    const rejections = output.split("\n").filter((line) => line.includes('"delivery rejected"'));

    expect(rejections.some((line) => line.includes('"source":"grafana"') && line.includes('"reason":"signature-mismatch"'))).toBe(true);
    expect(rejections.some((line) => line.includes('"reason":"topic-not-allowed"'))).toBe(true);
    for (const secret of TEST_SECRET_VALUES) {
      expect(output).not.toContain(secret);
    }
  });
});
