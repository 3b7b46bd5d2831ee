import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { grafanaSource } from "../../lib/sources/grafana";
import { parsePayload } from "../../lib/sources/parse";
import { normalizeBody } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";
import { caught, describeDeliveryProperties, fixture, idOf, normalizeRecorded, type Json } from "./source-test-kit";

const FIRING = "grafana/firing.json";
const RESOLVED = "grafana/resolved.json";
const TEST_ALERT = "grafana/test-alert.json";
const TRUNCATED = "grafana/firing-truncated.json";

describe("grafanaSource golden content", () => {
  it("firing group, one alert per member", () => {
    const alerts = normalizeBody(grafanaSource, fixture(FIRING));

    expect(alerts).toStrictEqual([
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "e1f2a3b4c5d6e7f8",
        episode: "2024-05-14T10:06:40.000Z",
        status: "firing",
        content: {
          title: "Blocked request rate above 50/s",
          description: "WAF on waf-eu-01.example.com is blocking 212.4 req/s from 203.0.113.61 (threshold 50).\nValues: [ var='A' labels={client_ip=203.0.113.61, instance=waf-eu-01.example.com} value=212.41666666666666 ], [ var='C' labels={client_ip=203.0.113.61, instance=waf-eu-01.example.com} value=1 ]\nDashboard: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000\nPanel: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000&viewPanel=4\nSilence: https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbdl3q9zw8a2gwe&matcher=instance%3Dwaf-eu-01.example.com&orgId=1",
          severity: "High",
          first_observed_time: "2024-05-14T10:06:40.000Z",
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
            product_module: "Security",
          },
          alert_type: {
            alert_type: "WAF blocked requests spike",
          },
          network_list: [
            {
              src_ip: "203.0.113.61",
            },
          ],
          resource_list: [
            {
              name: "waf-eu-01.example.com",
              type: "instance",
              provider: "grafana",
              tags: {
                instance: "waf-eu-01.example.com",
              },
            },
          ],
          labels: "alertname=WAF blocked requests spike,client_ip=203.0.113.61,grafana_folder=Security,instance=waf-eu-01.example.com,orgId=1,severity=high,team=secops",
          remediation: {
            url: "https://runbooks.example.com/waf-spike",
          },
          source_url: "https://grafana.example.com/alerting/grafana/bdl3q9zw8a2gwe/view?orgId=1",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "0a9b8c7d6e5f4a3b",
        episode: "2024-05-14T10:07:10.013Z",
        status: "firing",
        content: {
          title: "Blocked request rate above 50/s",
          description: "WAF on waf-eu-02.example.com is blocking 97.1 req/s from 203.0.113.61 (threshold 50).\nValues: [ var='A' labels={client_ip=203.0.113.61, instance=waf-eu-02.example.com} value=97.1 ], [ var='C' labels={client_ip=203.0.113.61, instance=waf-eu-02.example.com} value=1 ]\nSilence: https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbdl3q9zw8a2gwe&matcher=instance%3Dwaf-eu-02.example.com&orgId=1\nImage: https://grafana.example.com/public/img/attachments/b3e1d7c2f0a94e1f.png",
          severity: "High",
          first_observed_time: "2024-05-14T10:07:10.013Z",
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
            product_module: "Security",
          },
          alert_type: {
            alert_type: "WAF blocked requests spike",
          },
          network_list: [
            {
              src_ip: "203.0.113.61",
            },
          ],
          resource_list: [
            {
              name: "waf-eu-02.example.com",
              type: "instance",
              provider: "grafana",
              tags: {
                instance: "waf-eu-02.example.com",
              },
            },
          ],
          labels: "alertname=WAF blocked requests spike,client_ip=203.0.113.61,grafana_folder=Security,instance=waf-eu-02.example.com,orgId=1,severity=high,team=secops",
          remediation: {
            url: "https://runbooks.example.com/waf-spike",
          },
          source_url: "https://grafana.example.com/alerting/grafana/bdl3q9zw8a2gwe/view?orgId=1",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("normalizes a resolved member", () => {
    const alerts = normalizeBody(grafanaSource, fixture(RESOLVED));

    expect(alerts).toStrictEqual([
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "e1f2a3b4c5d6e7f8",
        episode: "2024-05-14T10:06:40.000Z",
        status: "resolved",
        content: {
          title: "Blocked request rate above 50/s",
          description: "WAF on waf-eu-01.example.com is blocking 212.4 req/s from 203.0.113.61 (threshold 50).\nDashboard: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000\nPanel: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000&viewPanel=4\nSilence: https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbdl3q9zw8a2gwe&matcher=instance%3Dwaf-eu-01.example.com&orgId=1",
          severity: "High",
          first_observed_time: "2024-05-14T10:06:40.000Z",
          last_observed_time: "2024-05-14T10:31:40.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
            product_module: "Security",
          },
          alert_type: {
            alert_type: "WAF blocked requests spike",
          },
          network_list: [
            {
              src_ip: "203.0.113.61",
            },
          ],
          resource_list: [
            {
              name: "waf-eu-01.example.com",
              type: "instance",
              provider: "grafana",
              tags: {
                instance: "waf-eu-01.example.com",
              },
            },
          ],
          labels: "alertname=WAF blocked requests spike,client_ip=203.0.113.61,grafana_folder=Security,instance=waf-eu-01.example.com,orgId=1,severity=high,team=secops",
          remediation: {
            url: "https://runbooks.example.com/waf-spike",
          },
          source_url: "https://grafana.example.com/alerting/grafana/bdl3q9zw8a2gwe/view?orgId=1",
          count: 1,
          handle_status: "Closed",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("test notification is skipped", () => {
    const alerts = normalizeBody(grafanaSource, fixture(TEST_ALERT));

    expect(alerts).toStrictEqual([
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "57c6d9296de2ad39",
        episode: "2024-05-14T10:40:03.331Z",
        status: "firing",
        content: {
          title: "Notification test",
          description: "Values: [ metric='foo' labels={instance=bar} value=10 ]\nSilence: https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DTestAlert&matcher=instance%3DGrafana&orgId=1",
          severity: "Medium",
          first_observed_time: "2024-05-14T10:40:03.331Z",
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
          },
          alert_type: {
            alert_type: "TestAlert",
          },
          resource_list: [
            {
              name: "Grafana",
              type: "instance",
              provider: "grafana",
              tags: {
                instance: "Grafana",
              },
            },
          ],
          labels: "alertname=TestAlert,instance=Grafana,orgId=1",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
        skipReason: "Grafana contact point test notification (alertname=TestAlert)",
      },
    ]);
  });

  it("maxAlerts truncation adds an alert", () => {
    const alerts = normalizeBody(grafanaSource, fixture(TRUNCATED));

    expect(alerts).toStrictEqual([
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "e1f2a3b4c5d6e7f8",
        episode: "2024-05-14T10:06:40.000Z",
        status: "firing",
        content: {
          title: "Blocked request rate above 50/s",
          description: "WAF on waf-eu-01.example.com is blocking 212.4 req/s from 203.0.113.61 (threshold 50).\nValues: [ var='A' labels={client_ip=203.0.113.61, instance=waf-eu-01.example.com} value=212.41666666666666 ], [ var='C' labels={client_ip=203.0.113.61, instance=waf-eu-01.example.com} value=1 ]\nDashboard: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000\nPanel: https://grafana.example.com/d/waf-overview?from=1715677600000&orgId=1&to=1715681230000&viewPanel=4\nSilence: https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dbdl3q9zw8a2gwe&matcher=instance%3Dwaf-eu-01.example.com&orgId=1",
          severity: "High",
          first_observed_time: "2024-05-14T10:06:40.000Z",
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
            product_module: "Security",
          },
          alert_type: {
            alert_type: "WAF blocked requests spike",
          },
          network_list: [
            {
              src_ip: "203.0.113.61",
            },
          ],
          resource_list: [
            {
              name: "waf-eu-01.example.com",
              type: "instance",
              provider: "grafana",
              tags: {
                instance: "waf-eu-01.example.com",
              },
            },
          ],
          labels: "alertname=WAF blocked requests spike,client_ip=203.0.113.61,grafana_folder=Security,instance=waf-eu-01.example.com,orgId=1,severity=high,team=secops",
          remediation: {
            url: "https://runbooks.example.com/waf-spike",
          },
          source_url: "https://grafana.example.com/alerting/grafana/bdl3q9zw8a2gwe/view?orgId=1",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
      {
        source: "grafana",
        scope: "1@https://grafana.example.com/",
        key: "truncated:{}/{__grafana_autogenerated__=\"true\"}/{__grafana_receiver__=\"soc-bridge-webhook\"}:{alertname=\"WAF blocked requests spike\", grafana_folder=\"Security\"}",
        episode: "2024-05-14T10:06:40.000Z",
        status: "firing",
        content: {
          title: "Grafana dropped 3 alerts of group {}/{__grafana_autogenerated__=\"true\"}/{__grafana_receiver__=\"soc-bridge-webhook\"}:{alertname=\"WAF blocked requests spike\", grafana_folder=\"Security\"}",
          description: "The contact point sent 1 alerts of this group and dropped 3 more because of its maxAlerts setting. The dropped alerts reach no playbook: check them in Grafana.",
          severity: "High",
          first_observed_time: "2024-05-14T10:06:40.000Z",
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Grafana",
            company_name: "Grafana Labs",
            product_feature: "soc-bridge-webhook",
            product_module: "Security",
          },
          labels: "alertname=WAF blocked requests spike,grafana_folder=Security,orgId=1",
          source_url: "https://grafana.example.com/",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("content passes the Alert schema", () => {
    for (const path of [FIRING, RESOLVED, TEST_ALERT, TRUNCATED]) {
      for (const alert of normalizeBody(grafanaSource, fixture(path))) {
        expect(alertSchema.safeParse(alert.content).success).toBe(true);
      }
    }
  });
});

describe("grafanaSource identity", () => {
  it("pinned action_instance_id values", () => {
    const firing = normalizeBody(grafanaSource, fixture(FIRING));
    const testAlert = normalizeBody(grafanaSource, fixture(TEST_ALERT));
    const truncated = normalizeBody(grafanaSource, fixture(TRUNCATED));

    expect(idOf(firing[0])).toBe("e7cd553c-b474-551f-85a0-a6d354dd23c5");
    expect(idOf(firing[1])).toBe("5f439394-0e66-563d-95d8-aaf376081353");
    expect(idOf(testAlert[0])).toBe("ee69fd78-0101-574f-875b-eb80d80038e4");
    expect(idOf(truncated[1])).toBe("c4e527a1-fde9-5071-9673-dafa3084849b");
  });

  it("signed request body gives the same ids", () => {
    const signed = fixture("grafana/firing-hmac-request.json");

    const alerts = normalizeBody(grafanaSource, JSON.parse(signed.request.body as string));

    expect(alerts.map(idOf)).toStrictEqual(["e7cd553c-b474-551f-85a0-a6d354dd23c5", "5f439394-0e66-563d-95d8-aaf376081353"]);
  });

  it("resolve keeps the firing id", () => {
    const [firing] = normalizeBody(grafanaSource, fixture(FIRING));
    const [resolved] = normalizeBody(grafanaSource, fixture(RESOLVED));

    expect(idOf(resolved)).toBe(idOf(firing));
  });

  it("repeated group keeps the id", () => {
    const body = fixture(FIRING);
    const repeat = fixture(FIRING);
    repeat.alerts.reverse();
    repeat.title = "[FIRING:2] re-sent after group_interval";

    const [first] = normalizeBody(grafanaSource, body);
    const later = grafanaSource.normalize(
      parsePayload(grafanaSource.schema, repeat, "grafana"),
      recordingContext("2024-05-14T20:00:00.000Z"),
    );

    expect(idOf(later[1])).toBe(idOf(first));
  });

  it("startsAt offset keeps the episode", () => {
    const body = fixture(FIRING);
    body.alerts[0].startsAt = "2024-05-14T10:06:40.000000000Z";

    const [alert] = normalizeBody(grafanaSource, body);

    expect(idOf(alert)).toBe("e7cd553c-b474-551f-85a0-a6d354dd23c5");
  });

  it("new episode gets a new id", () => {
    const body = fixture(FIRING);
    body.alerts[0].startsAt = "2024-05-21T09:00:00+02:00";

    const [alert] = normalizeBody(grafanaSource, body);

    expect(alert?.key).toBe("e1f2a3b4c5d6e7f8");
    expect(alert?.episode).toBe("2024-05-21T07:00:00.000Z");
    expect(idOf(alert)).not.toBe("e7cd553c-b474-551f-85a0-a6d354dd23c5");
  });

  it("scope separates orgs and instances", () => {
    const otherOrg = fixture(FIRING);
    otherOrg.orgId = 2;
    const otherInstance = fixture(FIRING);
    otherInstance.externalURL = "https://grafana-eu.example.com/";

    const [inOtherOrg] = normalizeBody(grafanaSource, otherOrg);
    const [onOtherInstance] = normalizeBody(grafanaSource, otherInstance);

    expect(inOtherOrg?.scope).toBe("2@https://grafana.example.com/");
    expect(onOtherInstance?.scope).toBe("1@https://grafana-eu.example.com/");
    expect(idOf(inOtherOrg)).not.toBe(idOf(onOtherInstance));
  });

  it("rejects an alert without a fingerprint", () => {
    const body = fixture(FIRING);
    body.alerts[1].fingerprint = "";

    const error = caught(() => normalizeBody(grafanaSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("alerts[1].fingerprint");
  });

  it("zero startsAt is rejected", () => {
    const body = fixture(FIRING);
    body.alerts[0].startsAt = "0001-01-01T00:00:00Z";

    const error = caught(() => normalizeBody(grafanaSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("alerts[0].startsAt");
  });

  it("rejects a delivery without orgId", () => {
    const body = fixture(FIRING);
    delete body.orgId;

    const error = caught(() => normalizeBody(grafanaSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("orgId");
  });
});

describe("grafanaSource severity and status", () => {
  it.each([
    ["critical", "Fatal"],
    ["page", "Fatal"],
    ["error", "High"],
    ["warning", "Medium"],
    ["P3", "Medium"],
    ["minor", "Low"],
    ["info", "Tips"],
  ])("maps severity label %s to %s", (label, expected) => {
    const body = fixture(FIRING);
    body.alerts[0].labels.severity = label;

    const { alerts, unknownCalls } = normalizeRecorded(grafanaSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it.each(["sev-2", "constructor"])("sends the unknown severity word %s to unknownSeverity", (word) => {
    const body = fixture(FIRING);
    body.alerts[0].labels.severity = word;

    const { alerts, unknownCalls } = normalizeRecorded(grafanaSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "alerts[0].labels.severity", value: word }]);
    expect(alerts[0]?.content.severity).toBe("Low");
  });

  it("missing severity label uses the default", () => {
    const body = fixture(FIRING);
    delete body.alerts[0].labels.severity;

    const withDefault = normalizeRecorded(grafanaSource, body);
    const withOption = normalizeRecorded(grafanaSource, body, { defaultSeverity: "High" });

    expect(withDefault.alerts[0]?.content.severity).toBe("Medium");
    expect(withOption.alerts[0]?.content.severity).toBe("High");
    expect(withDefault.unknownCalls).toStrictEqual([]);
  });

  it("rejects unknown options", () => {
    const error = caught(() => normalizeRecorded(grafanaSource, fixture(FIRING), { defaultSeverity: "Critical" }));

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
  });

  it("mixed group keeps member statuses", () => {
    const body = fixture(FIRING);
    body.alerts[1].status = "resolved";
    body.alerts[1].endsAt = "2024-05-14T12:30:00+02:00";

    const alerts = normalizeBody(grafanaSource, body);

    expect(alerts.map((alert) => alert.status)).toStrictEqual(["firing", "resolved"]);
    expect(alerts[1]?.content.handle_status).toBe("Closed");
    expect(alerts[1]?.content.last_observed_time).toBe("2024-05-14T10:30:00.000Z");
  });

  it("only exact test labels are skipped", () => {
    const body = fixture(TEST_ALERT);
    body.alerts[0].labels.instance = "grafana-prod";

    const [alert] = normalizeBody(grafanaSource, body);

    expect(alert?.skipReason).toBeUndefined();
  });
});

describe("grafanaSource schema", () => {
  it.each([
    ["alerts[0].status", (body: Json) => (body.alerts[0].status = "pending")],
    ["alerts[1].labels.severity", (body: Json) => (body.alerts[1].labels.severity = 3)],
    ["alerts[0].values.A", (body: Json) => (body.alerts[0].values.A = "212")],
    ["orgId", (body: Json) => (body.orgId = "1")],
    ["version", (body: Json) => (body.version = "4")],
    ["externalURL", (body: Json) => delete body.externalURL],
    ["alerts", (body: Json) => (body.alerts = {})],
  ])("names %s in the error", (field, mutate) => {
    const body = fixture(FIRING);
    mutate(body);

    const error = caught(() => parsePayload(grafanaSource.schema, body, "grafana"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
    expect(error.statusCode).toBe(422);
  });

  it("non-object body names the body", () => {
    const error = caught(() => parsePayload(grafanaSource.schema, "firing", "grafana"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("(body)");
  });

  it("returns no alerts for an empty group", () => {
    const body = fixture(FIRING);
    body.alerts = [];

    expect(normalizeBody(grafanaSource, body)).toStrictEqual([]);
  });
});

describeDeliveryProperties(grafanaSource, ["receiver", "status", "orgId", "alerts", "externalURL", "version", "truncatedAlerts", "groupKey"], [FIRING, RESOLVED, TRUNCATED]);
