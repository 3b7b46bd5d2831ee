import { describe, expect, it } from "vitest";
import { adapterForAwsEvent, consoleOrigin, parseArn } from "../../lib/sources/aws";
import { snsSubscribeUrl } from "../../lib/sources/sns";
import { readJsonFixture } from "../helpers/fixtures";

function snsLambdaEvent(...messages: unknown[]) {
  return {
    Records: messages.map((message) => ({
      EventSource: "aws:sns",
      Sns: { Type: "Notification", MessageId: "m", TopicArn: "arn:aws:sns:eu-west-1:111122223333:t", Message: JSON.stringify(message) },
    })),
  };
}

describe("adapterForAwsEvent", () => {
  it.each([
    ["payloads/guardduty-ssh-bruteforce.json", "guardduty"],
    ["payloads/securityhub-imported-single.json", "securityhub"],
    ["payloads/cloudwatch-eventbridge-alarm.json", "cloudwatch"],
    ["payloads/cloudwatch-sns-lambda-alarm.json", "cloudwatch"],
  ])("routes %s to %s", (file, source) => {
    const event = readJsonFixture(file);

    expect(adapterForAwsEvent(event)).toStrictEqual({ source, payload: event });
  });

  it("routes an EventBridge event forwarded through SNS", () => {
    const event = snsLambdaEvent(readJsonFixture("payloads/guardduty-iam-credential-exfil.json"));

    expect(adapterForAwsEvent(event)?.source).toBe("guardduty");
  });

  it("rejects records of different sources", () => {
    const event = snsLambdaEvent(readJsonFixture("payloads/guardduty-ssh-bruteforce.json"), readJsonFixture("payloads/securityhub-imported-single.json"));

    expect(adapterForAwsEvent(event)).toBeUndefined();
  });

  it.each([
    ["an S3 event", { Records: [{ eventSource: "aws:s3", s3: {} }] }],
    ["an SNS message that is not JSON", { Records: [{ EventSource: "aws:sns", Sns: { Message: "hello" } }] }],
    ["another EventBridge source", { source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: {} }],
    ["a string", "aws.guardduty"],
    ["an empty record list", { Records: [] }],
  ])("returns undefined for %s", (_name, event) => {
    expect(adapterForAwsEvent(event)).toBeUndefined();
  });
});

describe("snsSubscribeUrl", () => {
  it("returns the SubscribeURL of a confirmation", () => {
    const body = readJsonFixture("payloads/cloudwatch-sns-http-subscription-confirmation.json");

    expect(snsSubscribeUrl(body)).toBe(
      "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:111122223333:ops-alarms&Token=2336412f37fb687f5d51e6e2425c464de0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
    );
  });

  it("returns undefined for a notification", () => {
    expect(snsSubscribeUrl(readJsonFixture("payloads/cloudwatch-sns-http-alarm.json"))).toBeUndefined();
  });
});

describe("parseArn", () => {
  it("splits an alarm ARN", () => {
    expect(parseArn("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high")).toStrictEqual({
      partition: "aws",
      service: "cloudwatch",
      region: "eu-west-1",
      account: "111122223333",
      resource: "alarm:shop-alb-5xx-high",
    });
  });

  it("returns undefined for other text", () => {
    expect(parseArn("i-0a1b2c3d4e5f60718")).toBeUndefined();
  });
});

describe("consoleOrigin", () => {
  it.each([
    ["eu-west-1", "https://eu-west-1.console.aws.amazon.com"],
    ["cn-north-1", "https://cn-north-1.console.amazonaws.cn"],
    ["us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"],
  ])("uses the console domain of %s", (region, origin) => {
    expect(consoleOrigin(region)).toBe(origin);
  });
});
