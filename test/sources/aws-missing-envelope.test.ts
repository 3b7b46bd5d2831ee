import { describe, expect, it } from "vitest";
import type { BridgeError } from "../../lib/errors";
import { guardDutySource } from "../../lib/sources/guardduty";
import { parsePayload } from "../../lib/sources/parse";
import { securityHubSource } from "../../lib/sources/securityhub";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, normalizeBody } from "./delivery-fuzz";

// The tests take fixture JSON apart, so fixture values are typed loosely.
type Json = any;

const GUARDDUTY_EVENT = "payloads/guardduty-ssh-bruteforce.json";
const SECURITYHUB_EVENT = "payloads/securityhub-imported-3-findings.json";

/** Renames every key to PascalCase, as the AWS CLI prints a GuardDuty finding. */
function pascalCase(value: Json): Json {
  if (Array.isArray(value)) return value.map(pascalCase);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.charAt(0).toUpperCase() + key.slice(1), pascalCase(item)]));
}

function snsHttpBody(message: Json): Json {
  return {
    Type: "Notification",
    MessageId: "0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4d",
    TopicArn: "arn:aws:sns:eu-west-1:111122223333:findings",
    Message: JSON.stringify(message),
  };
}

function guardDutyError(body: Json): BridgeError {
  return caught(() => parsePayload(guardDutySource.schema, body, "guardduty"));
}

function securityHubError(body: Json): BridgeError {
  return caught(() => parsePayload(securityHubSource.schema, body, "securityhub"));
}

describe("guardduty bare finding", () => {
  it("names the missing envelope", () => {
    const finding = readJsonFixture<Json>(GUARDDUTY_EVENT).detail;

    const error = guardDutyError(finding);

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.statusCode).toBe(422);
    expect(error.field).toBe("detail-type");
    expect(error.message).toContain("at detail-type: missing, because this JSON is a bare GuardDuty finding");
    expect(error.message).toContain('wrapped in its EventBridge event, with "detail-type", "source" and the finding as "detail"');
    expect(error.message).not.toContain("camelCase");
    expect(error.fix).toContain('{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":<finding>}');
    expect(error.fix).toContain("docs/sources/guardduty.md");
  });

  it("names the casing of CLI output", () => {
    const finding = pascalCase(readJsonFixture<Json>(GUARDDUTY_EVENT).detail);

    const error = guardDutyError(finding);

    expect(error.field).toBe("detail-type");
    expect(error.message).toContain("bare GuardDuty finding (SchemaVersion, Id, Type and Severity at the top level)");
    expect(error.message).toContain("camelCase field names");
  });

  it("names a findings list", () => {
    const finding = readJsonFixture<Json>(GUARDDUTY_EVENT).detail;

    const camel = guardDutyError({ findings: [finding] });
    const pascal = guardDutyError({ Findings: [pascalCase(finding)] });

    expect(camel.field).toBe("detail-type");
    expect(camel.message).toContain("a list of GuardDuty findings (findings[]");
    expect(camel.message).toContain("its own EventBridge event");
    expect(pascal.field).toBe("detail-type");
    expect(pascal.message).toContain("a list of GuardDuty findings (Findings[]");
    expect(pascal.message).toContain("camelCase field names");
  });

  it("keeps the path inside SNS", () => {
    const finding = readJsonFixture<Json>(GUARDDUTY_EVENT).detail;
    const http = snsHttpBody(finding);

    const httpError = guardDutyError(http);
    const lambdaError = guardDutyError({ Records: [{ EventSource: "aws:sns", Sns: http }] });

    expect(httpError.field).toBe("Message.detail-type");
    expect(httpError.message).toContain("bare GuardDuty finding");
    expect(httpError.fix).toContain('"detail-type":"GuardDuty Finding"');
    expect(lambdaError.field).toBe("Records[0].Sns.Message.detail-type");
    expect(lambdaError.message).toContain("bare GuardDuty finding");
  });

  it("parses once wrapped as the fix says", () => {
    const event = readJsonFixture<Json>(GUARDDUTY_EVENT);
    const wrapped = { "detail-type": "GuardDuty Finding", source: "aws.guardduty", detail: event.detail };

    const [fromWrapped] = normalizeBody(guardDutySource, wrapped);
    const [fromEvent] = normalizeBody(guardDutySource, event);

    expect(fromWrapped?.scope).toBe(fromEvent?.scope);
    expect(fromWrapped?.key).toBe(fromEvent?.key);
  });

  it("leaves other invalid bodies alone", () => {
    const otherDetailType = { ...readJsonFixture<Json>(GUARDDUTY_EVENT), "detail-type": "GuardDuty Runtime Event" };
    const { severity: _severity, ...withoutSeverity } = readJsonFixture<Json>(GUARDDUTY_EVENT).detail;

    const wrongType = guardDutyError(otherDetailType);
    const notFinding = guardDutyError(withoutSeverity);
    const unrelated = guardDutyError({ alerts: [] });

    expect(wrongType.field).toBe("detail-type");
    expect(wrongType.message).toContain('expected "GuardDuty Finding"');
    expect(notFinding.field).toBe("detail-type");
    expect(notFinding.message).not.toContain("bare");
    expect(unrelated.message).not.toContain("bare");
    expect(unrelated.fix).toBe("send the guardduty sender's documented payload; see docs/sources/guardduty.md");
  });
});

describe("securityhub bare findings", () => {
  it("names the missing envelope", () => {
    const finding = readJsonFixture<Json>(SECURITYHUB_EVENT).detail.findings[0];

    const error = securityHubError(finding);

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("detail-type");
    expect(error.message).toContain("at detail-type: missing, because this JSON is a bare Security Hub finding in ASFF");
    expect(error.message).toContain('with "detail-type", "source" and the findings in "detail.findings[]"');
    expect(error.fix).toContain(
      '{"detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","detail":{"findings":[<finding>]}}',
    );
    expect(error.fix).toContain("docs/sources/securityhub.md");
  });

  it("names a GetFindings result", () => {
    const findings = readJsonFixture<Json>(SECURITYHUB_EVENT).detail.findings;

    const error = securityHubError({ Findings: findings });

    expect(error.field).toBe("detail-type");
    expect(error.message).toContain("a GetFindings result (Findings[] of ASFF findings)");
    expect(error.fix).toContain('"detail":{"findings":<the Findings array>}');
  });

  it("names a detail without its event", () => {
    const detail = readJsonFixture<Json>(SECURITYHUB_EVENT).detail;

    const error = securityHubError(detail);

    expect(error.field).toBe("detail-type");
    expect(error.message).toContain('the "detail" of a Security Hub event');
  });

  it("keeps the path inside SNS", () => {
    const finding = readJsonFixture<Json>(SECURITYHUB_EVENT).detail.findings[0];

    const error = securityHubError(snsHttpBody(finding));

    expect(error.field).toBe("Message.detail-type");
    expect(error.message).toContain("bare Security Hub finding");
  });

  it("parses once wrapped as the fix says", () => {
    const event = readJsonFixture<Json>(SECURITYHUB_EVENT);
    const wrapped = { "detail-type": "Security Hub Findings - Imported", source: "aws.securityhub", detail: { findings: event.detail.findings } };

    const fromWrapped = normalizeBody(securityHubSource, wrapped);
    const fromEvent = normalizeBody(securityHubSource, event);

    expect(fromWrapped.map((alert) => alert.key)).toStrictEqual(fromEvent.map((alert) => alert.key));
  });

  it("leaves other invalid bodies alone", () => {
    const insight = { ...readJsonFixture<Json>(SECURITYHUB_EVENT), "detail-type": "Security Hub Insight Results" };
    const { ProductArn: _productArn, ...withoutProduct } = readJsonFixture<Json>(SECURITYHUB_EVENT).detail.findings[0];

    const insightError = securityHubError(insight);
    const notFinding = securityHubError(withoutProduct);

    expect(insightError.field).toBe("detail-type");
    expect(insightError.message).toContain("expected one of");
    expect(notFinding.field).toBe("detail-type");
    expect(notFinding.message).not.toContain("bare");
  });
});
