 
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { parsePayload } from "../../lib/sources/parse";
import { securityHubSeverity, securityHubSource } from "../../lib/sources/securityhub";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, checkAlerts, expectOnlyBridgeErrors, idOf, mutatedDocument, normalizeBody, randomDelivery, RECEIVED_AT } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";

// The tests edit fixture JSON in place, so fixture values are typed loosely.
 
type Json = any;

const THREE = "payloads/securityhub-imported-3-findings.json";
const SINGLE = "payloads/securityhub-imported-single.json";
const RESOLVED = "securityhub/finding-resolved.json";
const ARCHIVED = "securityhub/finding-archived.json";

describe("securityHubSource golden content", () => {
  it("splits the three-finding event", () => {
    const alerts = normalizeBody(securityHubSource, readJsonFixture(THREE));

    expect(alerts).toStrictEqual([
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        key: "arn:aws:guardduty:eu-west-1:111122223333:detector/4ec1f2a3b4c5d6e7f8a9b0c1d2e3f4a5/finding/b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
        episode: "",
        status: "firing",
        content: {
          title: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          description: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          severity: "Low",
          alert_type: {
            category: "TTPs",
            alert_type: "Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
          },
          first_observed_time: "2024-05-14T08:02:10.000Z",
          last_observed_time: "2024-05-14T14:05:37.000Z",
          create_time: "2024-05-14T08:15:40.512Z",
          update_time: "2024-05-14T14:16:03.118Z",
          count: 231,
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
              id: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60718",
              name: "bastion-eu-1",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                Name: "bastion-eu-1",
                env: "prod",
              },
              provider: "aws",
            },
          ],
          labels: "RecordState=ACTIVE,Workflow=NEW",
          source_url: "https://console.example.com/guardduty/home?region=eu-west-1#/findings?search=id%3Db2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "arn:aws:guardduty:eu-west-1:111122223333:detector/4ec1f2a3b4c5d6e7f8a9b0c1d2e3f4a5",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/inspector",
        key: "arn:aws:inspector2:eu-west-1:111122223333:finding/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        episode: "",
        status: "firing",
        content: {
          title: "CVE-2099-0001 - openssh-server",
          description: "Fictional vulnerability used for testing: remote code execution in the SSH daemon under specific conditions.",
          severity: "Fatal",
          alert_type: {
            category: "Software and Configuration Checks",
            alert_type: "Vulnerabilities/CVE",
          },
          first_observed_time: "2024-05-12T21:00:13.500Z",
          last_observed_time: "2024-05-14T14:10:00.000Z",
          create_time: "2024-05-12T21:00:13.500Z",
          update_time: "2024-05-14T14:10:00.000Z",
          handle_status: "Open",
          remediation: {
            recommendation: "Upgrade openssh-server to the fixed version.",
          },
          resource_list: [
            {
              id: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60718",
              name: "i-0a1b2c3d4e5f60718",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "RecordState=ACTIVE,Workflow=NEW",
          source_url: "https://eu-west-1.console.aws.amazon.com/securityhub/home?region=eu-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Ainspector2%253Aeu-west-1%253A111122223333%253Afinding%252F0f1e2d3c4b5a69788796a5b4c3d2e1f0",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "Inspector",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "AWSInspector",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        key: "arn:aws:securityhub:eu-west-1:111122223333:security-control/EC2.19/finding/5f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b",
        episode: "",
        status: "resolved",
        content: {
          title: "Security groups should not allow unrestricted access to ports with high risk",
          description: "This control checks whether unrestricted incoming traffic is reachable on security group ports that are considered high risk.",
          severity: "Tips",
          alert_type: {
            category: "Software and Configuration Checks",
            alert_type: "Industry and Regulatory Standards",
          },
          first_observed_time: "2024-05-10T03:12:44.617Z",
          last_observed_time: "2024-05-14T15:02:40.118Z",
          create_time: "2024-05-10T03:12:44.617Z",
          update_time: "2024-05-14T15:02:40.118Z",
          handle_status: "Closed",
          remediation: {
            recommendation: "For information on how to correct this issue, consult the Security Hub controls documentation.",
            url: "https://docs.example.com/securityhub/controls/ec2-19",
          },
          resource_list: [
            {
              id: "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8",
              name: "sg-0a1b2c3d4e5f6a7b8",
              type: "AwsEc2SecurityGroup",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                owner: "secops",
                env: "prod",
              },
              provider: "aws",
            },
          ],
          labels: "RecordState=ACTIVE,Workflow=RESOLVED,Compliance=PASSED,SecurityControlId=EC2.19",
          source_url: "https://eu-west-1.console.aws.amazon.com/securityhub/home?region=eu-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aeu-west-1%253A111122223333%253Asecurity-control%252FEC2.19%252Ffinding%252F5f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "Security Hub",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "security-control/EC2.19",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
    for (const alert of alerts) expect(alertSchema.safeParse(alert.content).success).toBe(true);
  });

  it("normalizes the single control finding", () => {
    const alerts = normalizeBody(securityHubSource, readJsonFixture(SINGLE));

    expect(alerts).toStrictEqual([
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        key: "arn:aws:securityhub:eu-west-1:111122223333:security-control/EC2.19/finding/5f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b",
        episode: "",
        status: "firing",
        content: {
          title: "Security groups should not allow unrestricted access to ports with high risk",
          description: "This control checks whether unrestricted incoming traffic is reachable on security group ports that are considered high risk.",
          severity: "High",
          alert_type: {
            category: "Software and Configuration Checks",
            alert_type: "Industry and Regulatory Standards",
          },
          first_observed_time: "2024-05-10T03:12:44.617Z",
          last_observed_time: "2024-05-14T03:14:02.905Z",
          create_time: "2024-05-10T03:12:44.617Z",
          update_time: "2024-05-14T03:14:02.905Z",
          handle_status: "Open",
          remediation: {
            recommendation: "For information on how to correct this issue, consult the Security Hub controls documentation.",
            url: "https://docs.example.com/securityhub/controls/ec2-19",
          },
          resource_list: [
            {
              id: "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8",
              name: "sg-0a1b2c3d4e5f6a7b8",
              type: "AwsEc2SecurityGroup",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                owner: "secops",
                env: "prod",
              },
              provider: "aws",
            },
          ],
          labels: "RecordState=ACTIVE,Workflow=NEW,Compliance=FAILED,SecurityControlId=EC2.19",
          source_url: "https://eu-west-1.console.aws.amazon.com/securityhub/home?region=eu-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aeu-west-1%253A111122223333%253Asecurity-control%252FEC2.19%252Ffinding%252F5f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "Security Hub",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "security-control/EC2.19",
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

  it("resolves a finding whose workflow is RESOLVED", () => {
    const alerts = normalizeBody(securityHubSource, readJsonFixture(RESOLVED));

    expect(alerts).toStrictEqual([
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
        key: "arn:aws:guardduty:eu-west-1:111122223333:detector/4ec1f2a3b4c5d6e7f8a9b0c1d2e3f4a5/finding/b2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
        episode: "",
        status: "resolved",
        content: {
          title: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          description: "198.51.100.77 is performing SSH brute force attacks against i-0a1b2c3d4e5f60718.",
          severity: "Low",
          alert_type: {
            category: "TTPs",
            alert_type: "Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
          },
          first_observed_time: "2024-05-14T08:02:10.000Z",
          last_observed_time: "2024-05-14T14:05:37.000Z",
          create_time: "2024-05-14T08:15:40.512Z",
          update_time: "2024-05-14T16:20:11.402Z",
          count: 231,
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
              id: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60718",
              name: "bastion-eu-1",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              tags: {
                Name: "bastion-eu-1",
                env: "prod",
              },
              provider: "aws",
            },
          ],
          labels: "RecordState=ACTIVE,Workflow=RESOLVED",
          source_url: "https://console.example.com/guardduty/home?region=eu-west-1#/findings?search=id%3Db2c6f0a4e1d84e0f9a7d3c5b1e2f4a6c",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "GuardDuty",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "arn:aws:guardduty:eu-west-1:111122223333:detector/4ec1f2a3b4c5d6e7f8a9b0c1d2e3f4a5",
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

  it("resolves an ARCHIVED finding", () => {
    const alerts = normalizeBody(securityHubSource, readJsonFixture(ARCHIVED));

    expect(alerts).toStrictEqual([
      {
        source: "securityhub",
        scope: "arn:aws:securityhub:eu-west-1::product/aws/inspector",
        key: "arn:aws:inspector2:eu-west-1:111122223333:finding/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        episode: "",
        status: "resolved",
        content: {
          title: "CVE-2099-0001 - openssh-server",
          description: "Fictional vulnerability used for testing: remote code execution in the SSH daemon under specific conditions.",
          severity: "Fatal",
          alert_type: {
            category: "Software and Configuration Checks",
            alert_type: "Vulnerabilities/CVE",
          },
          first_observed_time: "2024-05-12T21:00:13.500Z",
          last_observed_time: "2024-05-15T02:00:41.009Z",
          create_time: "2024-05-12T21:00:13.500Z",
          update_time: "2024-05-15T02:00:41.009Z",
          handle_status: "Closed",
          remediation: {
            recommendation: "Upgrade openssh-server to the fixed version.",
          },
          resource_list: [
            {
              id: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60718",
              name: "i-0a1b2c3d4e5f60718",
              type: "AwsEc2Instance",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "RecordState=ARCHIVED,Workflow=NEW",
          source_url: "https://eu-west-1.console.aws.amazon.com/securityhub/home?region=eu-west-1#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Ainspector2%253Aeu-west-1%253A111122223333%253Afinding%252F0f1e2d3c4b5a69788796a5b4c3d2e1f0",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "Inspector",
            domain_id: "111122223333",
            region_id: "eu-west-1",
            product_feature: "Security Hub",
            product_module: "AWSInspector",
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

describe("securityHubSource identity", () => {
  it("pins action_instance_id per finding", () => {
    const ids = [THREE, SINGLE, RESOLVED, ARCHIVED].flatMap((file) => normalizeBody(securityHubSource, readJsonFixture(file)).map(idOf));

    expect(ids).toStrictEqual(["ac0fb70b-0ccd-595e-919b-c4c7cc849009", "d88f058b-68fa-58b2-99a8-8ecfe22e3d0e", "7c11e674-317a-5e9a-82d5-3c952ba8b3f3", "7c11e674-317a-5e9a-82d5-3c952ba8b3f3", "ac0fb70b-0ccd-595e-919b-c4c7cc849009", "d88f058b-68fa-58b2-99a8-8ecfe22e3d0e"]);
  });

  it("keeps the id across updates and resolution", () => {
    const [guardDutyFinding, inspectorFinding, controlFinding] = normalizeBody(securityHubSource, readJsonFixture(THREE));
    const [controlFirst] = normalizeBody(securityHubSource, readJsonFixture(SINGLE));
    const [guardDutyResolved] = normalizeBody(securityHubSource, readJsonFixture(RESOLVED));
    const [inspectorArchived] = normalizeBody(securityHubSource, readJsonFixture(ARCHIVED));

    expect(idOf(controlFinding)).toBe(idOf(controlFirst));
    expect(controlFinding?.status).toBe("resolved");
    expect(idOf(guardDutyResolved)).toBe(idOf(guardDutyFinding));
    expect(idOf(inspectorArchived)).toBe(idOf(inspectorFinding));
  });

  it("separates the same Id of two products", () => {
    const body: Json = readJsonFixture(SINGLE);
    body.detail.findings[0].ProductArn = "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default";

    const [alert] = normalizeBody(securityHubSource, body);

    expect(alert?.scope).toBe("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default");
    expect(idOf(alert)).not.toBe("7c11e674-317a-5e9a-82d5-3c952ba8b3f3");
  });

  it("rejects a finding without Id and names it", () => {
    const body: Json = readJsonFixture(THREE);
    body.detail.findings[2].Id = "";

    const error = caught(() => normalizeBody(securityHubSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("detail.findings[2].Id");
  });

  it("skips a GuardDuty sample finding", () => {
    const body: Json = readJsonFixture(THREE);
    body.detail.findings[0].ProductFields["aws/guardduty/service/additionalInfo/sample"] = "true";

    const [sample, inspector] = normalizeBody(securityHubSource, body);

    expect(sample?.skipReason).toBe('GuardDuty sample finding (ProductFields "aws/guardduty/service/additionalInfo/sample" is true); sample findings never start a playbook');
    expect(inspector?.skipReason).toBeUndefined();
  });

  it("returns no alerts for an empty findings array", () => {
    const body: Json = readJsonFixture(SINGLE);
    body.detail.findings = [];

    expect(normalizeBody(securityHubSource, body)).toStrictEqual([]);
  });
});

describe("securityHubSource deliveries", () => {
  it("accepts the event inside an SNS HTTP body", () => {
    const body = {
      Type: "Notification",
      MessageId: "9d8c7b6a-5f4e-5d3c-8b2a-1f0e9d8c7b6a",
      TopicArn: "arn:aws:sns:eu-west-1:111122223333:securityhub-findings",
      Message: JSON.stringify(readJsonFixture(SINGLE)),
      Timestamp: "2024-05-14T03:14:07.118Z",
    };

    const alerts = normalizeBody(securityHubSource, body);

    expect(alerts.map(idOf)).toStrictEqual(["7c11e674-317a-5e9a-82d5-3c952ba8b3f3"]);
  });

  it("accepts a Custom Action event", () => {
    const body: Json = { ...readJsonFixture(SINGLE), "detail-type": "Security Hub Findings - Custom Action" };
    body.detail.actionName = "SendToSecMaster";

    const alerts = normalizeBody(securityHubSource, body);

    expect(alerts.map(idOf)).toStrictEqual(["7c11e674-317a-5e9a-82d5-3c952ba8b3f3"]);
  });
});

describe("securityHubSource schema errors", () => {
  it("names the path of a wrong field type", () => {
    const body: Json = readJsonFixture(THREE);
    body.detail.findings[1].Resources[0].Tags = { env: 5 };

    const error = caught(() => parsePayload(securityHubSource.schema, body, "securityhub"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("detail.findings[1].Resources[0].Tags.env");
  });

  it("rejects insight results", () => {
    const body: Json = { ...readJsonFixture(SINGLE), "detail-type": "Security Hub Insight Results" };

    const error = caught(() => parsePayload(securityHubSource.schema, body, "securityhub"));

    expect(error.field).toBe("detail-type");
  });

  it("rejects a detail without findings", () => {
    const body: Json = readJsonFixture(SINGLE);
    delete body.detail.findings;

    const error = caught(() => parsePayload(securityHubSource.schema, body, "securityhub"));

    expect(error.field).toBe("detail.findings");
  });
});

describe("securityHubSeverity", () => {
  it.each([
    [{ Label: "INFORMATIONAL" }, "Tips"],
    [{ Label: "LOW" }, "Low"],
    [{ Label: "MEDIUM" }, "Medium"],
    [{ Label: "HIGH" }, "High"],
    [{ Label: "CRITICAL" }, "Fatal"],
    [{ Normalized: 0 }, "Tips"],
    [{ Normalized: 39 }, "Low"],
    [{ Normalized: 40 }, "Medium"],
    [{ Normalized: 70 }, "High"],
    [{ Normalized: 90 }, "Fatal"],
  ])("maps %o to %s", (severity, expected) => {
    expect(securityHubSeverity(severity)).toBe(expected);
  });

  it("lets the label win over the score", () => {
    expect(securityHubSeverity({ Label: "LOW", Normalized: 95 })).toBe("Low");
  });

  it("reports an unknown label", () => {
    const body: Json = readJsonFixture(SINGLE);
    body.detail.findings[0].Severity = { Label: "SEVERE" };
    const context = recordingContext(RECEIVED_AT);

    const [alert] = securityHubSource.normalize(parsePayload(securityHubSource.schema, body, "securityhub"), context);

    expect(context.unknownCalls).toStrictEqual([{ field: "detail.findings[0].Severity.Label", value: "SEVERE" }]);
    expect(alert?.content.severity).toBe("Low");
  });

  it("reports a missing severity", () => {
    const body: Json = readJsonFixture(SINGLE);
    delete body.detail.findings[0].Severity;
    const context = recordingContext(RECEIVED_AT);

    securityHubSource.normalize(parsePayload(securityHubSource.schema, body, "securityhub"), context);

    expect(context.unknownCalls).toStrictEqual([{ field: "detail.findings[0].Severity.Normalized", value: undefined }]);
  });
});

describe("securityHubSource properties", () => {
  it("throws only bridge errors on mutated events", () => {
    fc.assert(
      fc.property(fc.oneof(mutatedDocument(readJsonFixture(THREE)), mutatedDocument(readJsonFixture(RESOLVED))), (body) => {
        expectOnlyBridgeErrors(securityHubSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });

  it("throws only bridge errors on random deliveries", () => {
    fc.assert(
      fc.property(randomDelivery(["Records", "Type", "TopicArn", "Message", "detail-type", "source", "detail"]), (body) => {
        expectOnlyBridgeErrors(securityHubSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });
});
