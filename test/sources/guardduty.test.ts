 
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { guardDutySeverity, guardDutySource } from "../../lib/sources/guardduty";
import { parsePayload } from "../../lib/sources/parse";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, checkAlerts, expectOnlyBridgeErrors, idOf, mutatedDocument, normalizeBody, randomDelivery, RECEIVED_AT } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";

// The tests edit fixture JSON in place, so fixture values are typed loosely.
 
type Json = any;

const SSH = "payloads/guardduty-ssh-bruteforce.json";
const EXFILTRATION = "payloads/guardduty-iam-credential-exfil.json";
const SAMPLE = "guardduty/sample-finding.json";
const ARCHIVED = "guardduty/archived-finding.json";

function snsHttpBody(event: Json): Json {
  return {
    Type: "Notification",
    MessageId: "0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4d",
    TopicArn: "arn:aws:sns:eu-west-1:111122223333:guardduty-findings",
    Message: JSON.stringify(event),
    Timestamp: "2024-05-14T08:20:32.001Z",
    SignatureVersion: "2",
    Signature: "EXAMPLE",
    SigningCertURL: "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-example.pem",
  };
}

function snsLambdaEvent(event: Json): Json {
  const { SigningCertURL, ...message } = snsHttpBody(event);
  return { Records: [{ EventSource: "aws:sns", EventVersion: "1.0", Sns: { ...message, SigningCertUrl: SigningCertURL } }] };
}

describe("guardDutySource golden content", () => {
  it("normalizes the SSH brute-force finding", () => {
    const alerts = normalizeBody(guardDutySource, readJsonFixture(SSH));

    expect(alerts).toStrictEqual([
      {
        source: "guardduty",
        scope: "111122223333/eu-west-1",
        key: "b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
        episode: "",
        status: "firing",
        content: {
          title: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          description: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password.",
          severity: "Low",
          alert_type: {
            category: "UnauthorizedAccess",
            alert_type: "UnauthorizedAccess:EC2/SSHBruteForce",
          },
          first_observed_time: "2024-05-14T08:02:10.000Z",
          last_observed_time: "2024-05-14T08:14:52.000Z",
          create_time: "2024-05-14T08:15:40.512Z",
          update_time: "2024-05-14T08:15:40.512Z",
          count: 14,
          handle_status: "Open",
          network_list: [
            {
              direction: "IN",
              protocol: "TCP",
              src_ip: "198.51.100.77",
              src_port: 51432,
              dest_ip: "192.0.2.10",
              dest_port: "22",
            },
          ],
          resource_list: [
            {
              id: "i-0a1b2c3d4e5f60718",
              name: "bastion-eu-1",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                Name: "bastion-eu-1",
                env: "prod",
                owner: "secops",
              },
              provider: "aws",
            },
          ],
          labels: "resourceType=Instance,actionType=NETWORK_CONNECTION,resourceRole=TARGET",
          source_url: "https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId=b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("normalizes the credential exfiltration finding", () => {
    const alerts = normalizeBody(guardDutySource, readJsonFixture(EXFILTRATION));

    expect(alerts).toStrictEqual([
      {
        source: "guardduty",
        scope: "111122223333/eu-west-1",
        key: "e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3",
        episode: "",
        status: "firing",
        content: {
          title: "Credentials for instance role bastion-role used from external IP address.",
          description: "Credentials created exclusively for an EC2 instance using instance role bastion-role have been used from external IP address 203.0.113.200.",
          severity: "High",
          alert_type: {
            category: "UnauthorizedAccess",
            alert_type: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
          },
          first_observed_time: "2024-05-14T12:40:01.000Z",
          last_observed_time: "2024-05-14T12:58:44.000Z",
          create_time: "2024-05-14T13:03:12.006Z",
          update_time: "2024-05-14T13:03:12.006Z",
          count: 3,
          handle_status: "Open",
          network_list: [
            {
              direction: "IN",
              src_ip: "203.0.113.200",
              dest_domain: "s3.amazonaws.com",
            },
          ],
          resource_list: [
            {
              id: "ASIAEXAMPLEEXAMPLE01",
              name: "bastion-role",
              type: "AwsIamAccessKey",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          user_info: [
            {
              user_id: "AROAEXAMPLEEXAMPLE02:i-0a1b2c3d4e5f60718",
              user_name: "bastion-role",
            },
          ],
          labels: "resourceType=AccessKey,actionType=AWS_API_CALL,resourceRole=TARGET",
          source_url: "https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId=e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("skips a sample finding with a stable identity", () => {
    const alerts = normalizeBody(guardDutySource, readJsonFixture(SAMPLE));

    expect(alerts).toStrictEqual([
      {
        source: "guardduty",
        scope: "111122223333/eu-west-1",
        key: "7ac6f0a4e1d84e0f9a7d3c5b1e2f9999",
        episode: "",
        status: "firing",
        content: {
          title: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          description: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password.",
          severity: "Low",
          alert_type: {
            category: "UnauthorizedAccess",
            alert_type: "UnauthorizedAccess:EC2/SSHBruteForce",
          },
          first_observed_time: "2024-05-14T09:59:58.000Z",
          last_observed_time: "2024-05-14T09:59:58.000Z",
          create_time: "2024-05-14T09:59:58.114Z",
          update_time: "2024-05-14T09:59:58.114Z",
          count: 1,
          handle_status: "Open",
          network_list: [
            {
              direction: "IN",
              protocol: "TCP",
              src_ip: "198.51.100.77",
              src_port: 51432,
              dest_ip: "192.0.2.10",
              dest_port: "22",
            },
          ],
          resource_list: [
            {
              id: "i-0a1b2c3d4e5f60718",
              name: "bastion-eu-1",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                Name: "bastion-eu-1",
                env: "prod",
                owner: "secops",
              },
              provider: "aws",
            },
          ],
          labels: "resourceType=Instance,actionType=NETWORK_CONNECTION,resourceRole=TARGET",
          source_url: "https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId=7ac6f0a4e1d84e0f9a7d3c5b1e2f9999",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
        skipReason: "GuardDuty sample finding (service.additionalInfo.sample is true); sample findings never start a playbook",
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("resolves an archived finding", () => {
    const alerts = normalizeBody(guardDutySource, readJsonFixture(ARCHIVED));

    expect(alerts).toStrictEqual([
      {
        source: "guardduty",
        scope: "111122223333/eu-west-1",
        key: "b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
        episode: "",
        status: "resolved",
        content: {
          title: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          description: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password.",
          severity: "Low",
          alert_type: {
            category: "UnauthorizedAccess",
            alert_type: "UnauthorizedAccess:EC2/SSHBruteForce",
          },
          first_observed_time: "2024-05-14T08:02:10.000Z",
          last_observed_time: "2024-05-14T10:48:31.000Z",
          create_time: "2024-05-14T08:15:40.512Z",
          update_time: "2024-05-14T11:14:55.870Z",
          count: 19,
          handle_status: "Closed",
          network_list: [
            {
              direction: "IN",
              protocol: "TCP",
              src_ip: "198.51.100.77",
              src_port: 51432,
              dest_ip: "192.0.2.10",
              dest_port: "22",
            },
          ],
          resource_list: [
            {
              id: "i-0a1b2c3d4e5f60718",
              name: "bastion-eu-1",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                Name: "bastion-eu-1",
                env: "prod",
                owner: "secops",
              },
              provider: "aws",
            },
          ],
          labels: "resourceType=Instance,actionType=NETWORK_CONNECTION,resourceRole=TARGET",
          source_url: "https://eu-west-1.console.aws.amazon.com/guardduty/home?region=eu-west-1#/findings?macros=current&fId=b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });
});

describe("guardDutySource identity", () => {
  it("pins action_instance_id per fixture", () => {
    const ids = [SSH, EXFILTRATION, SAMPLE, ARCHIVED].map((file) => idOf(normalizeBody(guardDutySource, readJsonFixture(file))[0]));

    expect(ids).toStrictEqual(["cc3c9500-5f1e-5cd1-9078-7f2daf68e35d", "aba7aaed-1056-5401-8aa7-7c35e77eef9a", "f47449e1-a049-507d-9368-ee7fa4ce968e", "cc3c9500-5f1e-5cd1-9078-7f2daf68e35d"]);
  });

  it("keeps the id across finding updates", () => {
    const update: Json = readJsonFixture(SSH);
    update.id = "77e0a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";
    update.time = "2024-05-14T09:20:31Z";
    update.detail.service.count = 31;
    update.detail.service.eventLastSeen = "2024-05-14T09:11:02.000Z";
    update.detail.updatedAt = "2024-05-14T09:15:40.512Z";

    const [first] = normalizeBody(guardDutySource, readJsonFixture(SSH));
    const [updated] = normalizeBody(guardDutySource, update);

    expect(idOf(updated)).toBe(idOf(first));
    expect(updated?.content.count).toBe(31);
  });

  it("gives another finding id a new id", () => {
    const other: Json = readJsonFixture(SSH);
    other.detail.id = "c3d7a1b5f2e95f1a0b8e4d6c2f3a5b7d";

    const [first] = normalizeBody(guardDutySource, readJsonFixture(SSH));
    const [second] = normalizeBody(guardDutySource, other);

    expect(idOf(second)).not.toBe(idOf(first));
  });

  it("scopes the finding by account and region", () => {
    const otherRegion: Json = readJsonFixture(SSH);
    otherRegion.detail.region = "eu-central-1";

    const [alert] = normalizeBody(guardDutySource, otherRegion);

    expect(alert?.scope).toBe("111122223333/eu-central-1");
    expect(idOf(alert)).not.toBe("cc3c9500-5f1e-5cd1-9078-7f2daf68e35d");
  });

  it("rejects a finding without id", () => {
    const body: Json = readJsonFixture(SSH);
    delete body.detail.id;

    const error = caught(() => normalizeBody(guardDutySource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("detail.id");
  });

  it("falls back to the envelope account", () => {
    const body: Json = readJsonFixture(SSH);
    delete body.detail.accountId;

    const [alert] = normalizeBody(guardDutySource, body);

    expect(alert?.scope).toBe("111122223333/eu-west-1");
  });
});

describe("guardDutySource deliveries", () => {
  it("accepts the event inside an SNS HTTP body", () => {
    const alerts = normalizeBody(guardDutySource, snsHttpBody(readJsonFixture(SSH)));

    expect(alerts).toHaveLength(1);
    expect(idOf(alerts[0])).toBe("cc3c9500-5f1e-5cd1-9078-7f2daf68e35d");
  });

  it("accepts the event inside SNS Lambda records", () => {
    const alerts = normalizeBody(guardDutySource, snsLambdaEvent(readJsonFixture(EXFILTRATION)));

    expect(alerts).toHaveLength(1);
    expect(idOf(alerts[0])).toBe("aba7aaed-1056-5401-8aa7-7c35e77eef9a");
  });

  it("accepts an event replayed from an archive", () => {
    const replay: Json = { ...readJsonFixture(SSH), "replay-name": "guardduty-2024-05-14" };

    const alerts = normalizeBody(guardDutySource, replay);

    expect(idOf(alerts[0])).toBe("cc3c9500-5f1e-5cd1-9078-7f2daf68e35d");
  });

  it("skips an SNS subscription confirmation", () => {
    const confirmation = readJsonFixture("payloads/cloudwatch-sns-http-subscription-confirmation.json");

    const [alert] = normalizeBody(guardDutySource, confirmation);

    expect(alert?.skipReason).toBe("SNS subscription confirmation; the bridge requests its link when the source's AUTO_CONFIRM setting is true, otherwise confirm it in the SNS console");
    expect(alert?.key).toBe("sns:SubscriptionConfirmation");
    expect(alert?.episode).toBe("165545c9-2a5c-472c-8df2-7ff2be2b3b1b");
    expect(alertSchema.safeParse(alert?.content).success).toBe(true);
  });
});

describe("guardDutySource schema errors", () => {
  it("names the path of a wrong severity type", () => {
    const body: Json = readJsonFixture(SSH);
    body.detail.severity = "HIGH";

    const error = caught(() => parsePayload(guardDutySource.schema, body, "guardduty"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("detail.severity");
  });

  it("names the path inside an SNS message", () => {
    const event: Json = readJsonFixture(SSH);
    event.detail.service.count = -1;

    const error = caught(() => parsePayload(guardDutySource.schema, snsLambdaEvent(event), "guardduty"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("Records[0].Sns.Message.detail.service.count");
  });

  it("rejects another event source", () => {
    const body: Json = readJsonFixture("payloads/cloudwatch-eventbridge-alarm.json");

    const error = caught(() => parsePayload(guardDutySource.schema, body, "guardduty"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("detail-type");
  });

  it("rejects an SNS message that is not JSON", () => {
    const body: Json = snsHttpBody({});
    body.Message = "plain text";

    const error = caught(() => parsePayload(guardDutySource.schema, body, "guardduty"));

    expect(error.field).toBe("Message");
  });
});

describe("guardDutySeverity", () => {
  it.each([
    [0.1, "Tips"],
    [0.9, "Tips"],
    [1, "Low"],
    [3.9, "Low"],
    [4, "Medium"],
    [6.9, "Medium"],
    [7, "High"],
    [8.9, "High"],
    [9, "Fatal"],
    [10, "Fatal"],
  ])("maps %s to %s", (score, severity) => {
    expect(guardDutySeverity(score)).toBe(severity);
  });

  it.each([-1, 10.1, Number.NaN])("returns undefined for %s", (score) => {
    expect(guardDutySeverity(score)).toBeUndefined();
  });

  it("reports an out-of-range score as unknown", () => {
    const body: Json = readJsonFixture(SSH);
    body.detail.severity = 42;
    const context = recordingContext(RECEIVED_AT);

    const [alert] = guardDutySource.normalize(parsePayload(guardDutySource.schema, body, "guardduty"), context);

    expect(context.unknownCalls).toStrictEqual([{ field: "detail.severity", value: 42 }]);
    expect(alert?.content.severity).toBe("Low");
  });
});

describe("guardDutySource properties", () => {
  it("throws only bridge errors on mutated findings", () => {
    fc.assert(
      fc.property(fc.oneof(mutatedDocument(readJsonFixture(SSH)), mutatedDocument(readJsonFixture(EXFILTRATION))), (body) => {
        expectOnlyBridgeErrors(guardDutySource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });

  it("throws only bridge errors on mutated SNS deliveries", () => {
    fc.assert(
      fc.property(mutatedDocument(snsLambdaEvent(readJsonFixture(SSH))), (body) => {
        expectOnlyBridgeErrors(guardDutySource, body, checkAlerts);
      }),
      { numRuns: 150 },
    );
  });

  it("throws only bridge errors on random deliveries", () => {
    fc.assert(
      fc.property(randomDelivery(["Records", "Type", "TopicArn", "Message", "detail-type", "source", "detail"]), (body) => {
        expectOnlyBridgeErrors(guardDutySource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });
});
