import { describe, expect, it } from "vitest";
import { alertmanagerSource, unquoteReceiver, type AlertmanagerPayload } from "../../lib/sources/alertmanager";
import { BUILT_IN_SOURCES } from "../../lib/sources/index";
import { parsePayload } from "../../lib/sources/parse";
import type { NormalizedAlert, NormalizeContext } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { bridgeErrorOf, goldenId, recordingContext } from "./normalize-context";

function normalizeFixture(path: string, context: NormalizeContext): NormalizedAlert[] {
  return normalizeBody(readJsonFixture(path), context);
}

function normalizeBody(body: unknown, context: NormalizeContext): NormalizedAlert[] {
  const payload = parsePayload(alertmanagerSource.schema, body, "alertmanager");
  return alertmanagerSource.normalize(payload, context);
}

const SSH_DATA_SOURCE = {
  source_type: 2,
  product_name: "Alertmanager",
  company_name: "Prometheus",
  product_feature: "soc-bridge",
  product_module: "node",
};
const SSH_GENERATOR_URL =
  "https://prometheus.example.com/graph?g0.expr=rate(sshd_auth_failures_total%5B5m%5D)+%3E+2&g0.tab=1";
const CRASH_GENERATOR_URL =
  "https://prometheus.example.com/graph?g0.expr=increase(kube_pod_container_status_restarts_total%5B10m%5D)+%3E+4&g0.tab=1";

describe("alertmanager source", () => {
  it("is registered as a built-in source", () => {
    expect(BUILT_IN_SOURCES.alertmanager).toBe(alertmanagerSource);
  });

  it("splits firing group into alerts", () => {
    const context = recordingContext("2024-05-14T08:05:00.000Z");

    const alerts = normalizeFixture("payloads/alertmanager-firing-group.json", context);

    expect(alerts).toHaveLength(3);
    expect(alerts[0]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "5b0f5b2d5f635dca",
      episode: "2024-05-14T08:02:11.482Z",
      status: "firing",
      content: {
        title: "SSH auth failures high on bastion-01.example.com",
        description: "More than 2 failed SSH logins per second from 198.51.100.23 for 5m.",
        severity: "Fatal",
        first_observed_time: "2024-05-14T08:02:11.482Z",
        last_observed_time: "2024-05-14T08:05:00.000Z",
        create_time: "2024-05-14T08:05:00.000Z",
        data_source: SSH_DATA_SOURCE,
        network_list: [{ src_ip: "198.51.100.23" }],
        resource_list: [
          {
            name: "bastion-01.example.com:9100",
            type: "instance",
            provider: "prometheus",
            tags: { instance: "bastion-01.example.com:9100", cluster: "edge-eu-1" },
          },
        ],
        labels:
          "alertname=SshAuthFailuresHigh,cluster=edge-eu-1,instance=bastion-01.example.com:9100,job=node,severity=critical,src_ip=198.51.100.23,team=secops",
        remediation: { url: "https://runbooks.example.com/ssh-bruteforce" },
        source_url: SSH_GENERATOR_URL,
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts[1]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "7b47d28377620826",
      episode: "2024-05-14T08:03:41.482Z",
      status: "firing",
      content: {
        title: "SSH auth failures high on bastion-02.example.com",
        description: "More than 2 failed SSH logins per second from 198.51.100.23 for 5m.",
        severity: "Fatal",
        first_observed_time: "2024-05-14T08:03:41.482Z",
        last_observed_time: "2024-05-14T08:05:00.000Z",
        create_time: "2024-05-14T08:05:00.000Z",
        data_source: SSH_DATA_SOURCE,
        network_list: [{ src_ip: "198.51.100.23" }],
        resource_list: [
          {
            name: "bastion-02.example.com:9100",
            type: "instance",
            provider: "prometheus",
            tags: { instance: "bastion-02.example.com:9100", cluster: "edge-eu-1" },
          },
        ],
        labels:
          "alertname=SshAuthFailuresHigh,cluster=edge-eu-1,instance=bastion-02.example.com:9100,job=node,severity=critical,src_ip=198.51.100.23,team=secops",
        remediation: { url: "https://runbooks.example.com/ssh-bruteforce" },
        source_url: SSH_GENERATOR_URL,
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts[2]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "f92e2c86f9923074",
      episode: "2024-05-14T08:04:56.100Z",
      status: "firing",
      content: {
        title: "SSH auth failures high on jump-03.example.com",
        description: "Failed SSH logins from 203.0.113.77 above threshold.",
        severity: "Medium",
        first_observed_time: "2024-05-14T08:04:56.100Z",
        last_observed_time: "2024-05-14T08:05:00.000Z",
        create_time: "2024-05-14T08:05:00.000Z",
        data_source: SSH_DATA_SOURCE,
        network_list: [{ src_ip: "203.0.113.77" }],
        resource_list: [
          {
            name: "jump-03.example.com:9100",
            type: "instance",
            provider: "prometheus",
            tags: { instance: "jump-03.example.com:9100", cluster: "edge-eu-1" },
          },
        ],
        labels:
          "alertname=SshAuthFailuresHigh,cluster=edge-eu-1,instance=jump-03.example.com:9100,job=node,severity=warning,src_ip=203.0.113.77,team=secops",
        remediation: { url: "https://runbooks.example.com/ssh-bruteforce" },
        source_url: SSH_GENERATOR_URL,
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(context.unknownCalls).toEqual([]);
  });

  it("pins firing group ids", () => {
    const alerts = normalizeFixture("payloads/alertmanager-firing-group.json", recordingContext("2024-05-14T08:05:00.000Z"));

    expect(alerts.map(goldenId)).toEqual([
      "0b79d96a-89b6-5bd6-a373-8eead3e5a201",
      "37ca91f8-bfca-5b46-a32f-5cff5f7007c4",
      "a11de422-6411-5ccc-8a39-5d5bf981c459",
    ]);
  });

  it("repeat delivery keeps ids", () => {
    const first = normalizeFixture("payloads/alertmanager-firing-group.json", recordingContext("2024-05-14T08:05:00.000Z"));
    const repeat = normalizeFixture("payloads/alertmanager-firing-group.json", recordingContext("2024-05-14T12:05:00.000Z"));

    expect(repeat.map(goldenId)).toEqual(first.map(goldenId));
  });

  it("new startsAt gives new id", () => {
    const body = readJsonFixture<{ alerts: Array<{ startsAt: string }> }>("payloads/alertmanager-firing-group.json");
    const first = body.alerts[0];
    if (first === undefined) throw new Error("fixture has no alerts");
    first.startsAt = "2024-05-21T08:02:11.482Z";

    const [alert] = normalizeBody(body, recordingContext("2024-05-21T08:05:00.000Z"));
    if (alert === undefined) throw new Error("expected one alert per group member");

    expect(alert.key).toBe("5b0f5b2d5f635dca");
    expect(alert.episode).toBe("2024-05-21T08:02:11.482Z");
    expect(goldenId(alert)).toBe("cd5cb5e8-249e-5534-bfc1-7e270232732e");
  });

  it("resolved alert reuses firing id", () => {
    const context = recordingContext("2024-05-14T08:41:30.000Z");

    const alerts = normalizeFixture("payloads/alertmanager-resolved.json", context);

    expect(alerts).toEqual([
      {
        source: "alertmanager",
        scope: "",
        key: "5b0f5b2d5f635dca",
        episode: "2024-05-14T08:02:11.482Z",
        status: "resolved",
        content: {
          title: "SSH auth failures high on bastion-01.example.com",
          description: "More than 2 failed SSH logins per second from 198.51.100.23 for 5m.",
          severity: "Fatal",
          first_observed_time: "2024-05-14T08:02:11.482Z",
          last_observed_time: "2024-05-14T08:41:26.482Z",
          create_time: "2024-05-14T08:41:30.000Z",
          data_source: SSH_DATA_SOURCE,
          network_list: [{ src_ip: "198.51.100.23" }],
          resource_list: [
            {
              name: "bastion-01.example.com:9100",
              type: "instance",
              provider: "prometheus",
              tags: { instance: "bastion-01.example.com:9100", cluster: "edge-eu-1" },
            },
          ],
          labels:
            "alertname=SshAuthFailuresHigh,cluster=edge-eu-1,instance=bastion-01.example.com:9100,job=node,severity=critical,src_ip=198.51.100.23,team=secops",
          remediation: { url: "https://runbooks.example.com/ssh-bruteforce" },
          source_url: SSH_GENERATOR_URL,
          handle_status: "Closed",
          verification_state: "Unknown",
          count: 1,
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["0b79d96a-89b6-5bd6-a373-8eead3e5a201"]);
  });

  it("keeps Chinese and other non-ASCII text", () => {
    const alerts = normalizeFixture("payloads/alertmanager-firing-unicode.json", recordingContext("2024-05-14T09:12:30.000Z"));

    expect(alerts).toEqual([
      {
        source: "alertmanager",
        scope: "",
        key: "b89836fdb332048a",
        episode: "2024-05-14T09:12:00.004Z",
        status: "firing",
        content: {
          title: "🚨 SSH 暴力破解疑似来自 203.0.113.9 — «bastion» ⚠️",
          description: "Échecs d'authentification > 2/s; source 203.0.113.9 <unverified> & rising",
          severity: "Fatal",
          first_observed_time: "2024-05-14T09:12:00.004Z",
          last_observed_time: "2024-05-14T09:12:30.000Z",
          create_time: "2024-05-14T09:12:30.000Z",
          data_source: {
            source_type: 2,
            product_name: "Alertmanager",
            company_name: "Prometheus",
            product_feature: "soc-bridge",
          },
          resource_list: [
            {
              name: "堡垒机-01.example.com:9100",
              type: "instance",
              provider: "prometheus",
              tags: { instance: "堡垒机-01.example.com:9100", cluster: "edge-ap-1" },
            },
          ],
          labels: "alertname=登录失败次数过高,cluster=edge-ap-1,instance=堡垒机-01.example.com:9100,owner=Zoë Ångström,severity=critical,team=secops",
          source_url: SSH_GENERATOR_URL,
          handle_status: "Open",
          verification_state: "Unknown",
          count: 1,
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["fb8813f2-83ec-58b7-bc5f-e296b2b9f62f"]);
  });

  it("storm adds truncation alert", () => {
    const alerts = normalizeFixture("payloads/alertmanager-storm-500-truncated.json", recordingContext("2024-05-14T10:30:00.000Z"));

    expect(alerts).toHaveLength(501);
    expect(new Set(alerts.map((alert) => alert.key)).size).toBe(501);
    expect(alerts[0]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "3ca26626e860085d",
      episode: "2024-05-14T10:00:00.000Z",
      status: "firing",
      content: {
        title: "Pod tenant-00/payment-worker-7c9f00000-x0k is crash looping",
        description: "Container payment-worker restarted 5 times in 10 minutes.",
        severity: "Medium",
        first_observed_time: "2024-05-14T10:00:00.000Z",
        last_observed_time: "2024-05-14T10:30:00.000Z",
        create_time: "2024-05-14T10:30:00.000Z",
        data_source: {
          source_type: 2,
          product_name: "Alertmanager",
          company_name: "Prometheus",
          product_feature: "soc-bridge",
          product_module: "kube-state-metrics",
        },
        resource_list: [
          {
            name: "payment-worker-7c9f00000-x0k",
            type: "pod",
            provider: "prometheus",
            tags: { pod: "payment-worker-7c9f00000-x0k", namespace: "tenant-00", cluster: "prod-eu-2" },
          },
        ],
        labels:
          "alertname=KubePodCrashLooping,cluster=prod-eu-2,container=payment-worker,job=kube-state-metrics,namespace=tenant-00,pod=payment-worker-7c9f00000-x0k,severity=warning,team=platform",
        remediation: { url: "https://runbooks.example.com/KubePodCrashLooping" },
        source_url: CRASH_GENERATOR_URL,
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts[499]?.key).toBe("26540fee7ca50307");
    expect(alerts[499]?.content.title).toBe("Pod tenant-18/payment-worker-7c9f00499-x4k is crash looping");
    expect(alerts[500]).toEqual({
      source: "alertmanager",
      scope: "",
      key: 'truncated:{}/{team="platform"}:{alertname="KubePodCrashLooping", cluster="prod-eu-2"}',
      episode: "2024-05-14T10:00:00.000Z",
      status: "firing",
      content: {
        title: 'Alertmanager dropped 1240 alerts of group {}/{team="platform"}:{alertname="KubePodCrashLooping", cluster="prod-eu-2"}',
        description:
          "Alertmanager sent 500 alerts of this group and dropped 1240 more because of the receiver's max_alerts setting. " +
          "The dropped alerts reach no playbook: check them in Alertmanager.",
        severity: "High",
        first_observed_time: "2024-05-14T10:00:00.000Z",
        last_observed_time: "2024-05-14T10:30:00.000Z",
        create_time: "2024-05-14T10:30:00.000Z",
        data_source: {
          source_type: 2,
          product_name: "Alertmanager",
          company_name: "Prometheus",
          product_feature: "soc-bridge",
          product_module: "kube-state-metrics",
        },
        labels: "alertname=KubePodCrashLooping,cluster=prod-eu-2",
        source_url: "https://alertmanager.example.com",
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
  });

  it("pins storm ids", () => {
    const alerts = normalizeFixture("payloads/alertmanager-storm-500-truncated.json", recordingContext("2024-05-14T10:30:00.000Z"));

    expect([alerts[0], alerts[499], alerts[500]].map((alert) => alert && goldenId(alert))).toEqual([
      "38390ab7-5681-5fc2-a289-ef8e118f4c56",
      "bfeefc44-423f-5502-8e6c-6c9aa3d30a08",
      "9a5844ba-0c10-55fc-9794-59346ed9ca46",
    ]);
  });

  it("maps labels to network and resources", () => {
    const context = recordingContext("2024-05-14T10:10:00.000Z");

    const alerts = normalizeFixture("alertmanager/label-mapping-variety.json", context);

    const dataSource = { source_type: 2, product_name: "Alertmanager", company_name: "Prometheus", product_feature: "soc.bridge" };
    expect(alerts[0]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "c0ffee0000000001",
      episode: "2024-05-14T10:07:10.013Z",
      status: "firing",
      content: {
        title: "SuspiciousEgress",
        severity: "Low",
        first_observed_time: "2024-05-14T10:07:10.013Z",
        last_observed_time: "2024-05-14T10:10:00.000Z",
        create_time: "2024-05-14T10:10:00.000Z",
        data_source: dataSource,
        alert_type: { category: "Abnormal network behavior" },
        network_list: [{ src_ip: "10.20.3.14", src_port: 52811, dest_ip: "192.0.2.200", dest_port: "443" }],
        resource_list: [
          {
            name: "checkout-6d5f9b7c4-2xkqz",
            type: "pod",
            provider: "prometheus",
            region_id: "cn-north-4",
            tags: { pod: "checkout-6d5f9b7c4-2xkqz", namespace: "payments", cluster: "prod-cn-1" },
          },
        ],
        labels:
          "alertname=SuspiciousEgress,category=Abnormal network behavior,cluster=prod-cn-1,dest_ip=192.0.2.200,dest_port=443," +
          "namespace=payments,pod=checkout-6d5f9b7c4-2xkqz,region=cn-north-4,severity=sev9,src_ip=10.20.3.14,src_port=52811",
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts[1]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "c0ffee0000000002",
      episode: "2024-05-14T10:07:11.000Z",
      status: "firing",
      content: {
        title: "PortLabelNotANumber",
        description: "A rule that sets a service name as port.",
        severity: "Medium",
        first_observed_time: "2024-05-14T10:07:11.000Z",
        last_observed_time: "2024-05-14T10:10:00.000Z",
        create_time: "2024-05-14T10:10:00.000Z",
        data_source: dataSource,
        labels: "alertname=PortLabelNotANumber,src_port=http",
        source_url: "https://prometheus.example.com/graph?g0.expr=up",
        handle_status: "Open",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts[2]).toEqual({
      source: "alertmanager",
      scope: "",
      key: "c0ffee0000000003",
      episode: "2024-05-14T09:00:00.000Z",
      status: "resolved",
      content: {
        title: "Disk almost full on db-01.example.com",
        severity: "Medium",
        first_observed_time: "2024-05-14T09:00:00.000Z",
        last_observed_time: "2024-05-14T10:05:00.500Z",
        create_time: "2024-05-14T10:10:00.000Z",
        data_source: { ...dataSource, product_module: "node" },
        resource_list: [
          {
            name: "db-01.example.com:9100",
            type: "instance",
            provider: "prometheus",
            tags: { instance: "db-01.example.com:9100" },
          },
        ],
        labels: "alertname=DiskAlmostFull,instance=db-01.example.com:9100,job=node,severity=P3",
        source_url: "https://prometheus.example.com/graph?g0.expr=disk",
        handle_status: "Closed",
        verification_state: "Unknown",
        count: 1,
      },
    });
    expect(alerts.map(goldenId)).toEqual([
      "c396154a-cebc-57e7-ae09-5d184e8d7f00",
      "de24400d-bbfb-5f77-8090-b9b0fbdb52f1",
      "ff2baf5d-18c1-54ca-aea1-f404523ad6cf",
    ]);
  });

  it("unknown severity word goes to context", () => {
    const context = recordingContext("2024-05-14T10:10:00.000Z");

    normalizeFixture("alertmanager/label-mapping-variety.json", context);

    expect(context.unknownCalls).toEqual([{ field: "alerts[0].labels.severity", value: "sev9" }]);
  });

  it("missing severity uses default", () => {
    const context = recordingContext("2024-05-14T10:10:00.000Z", { defaultSeverity: "High" });

    const alerts = normalizeFixture("alertmanager/label-mapping-variety.json", context);

    expect(alerts[1]?.content.severity).toBe("High");
  });

  it("invalid options raise config error", () => {
    const context = recordingContext("2024-05-14T10:10:00.000Z", { defaultSeverity: "Critical" });

    const error = bridgeErrorOf(() => normalizeFixture("alertmanager/label-mapping-variety.json", context));

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
  });

  it("returns no alerts for an empty group", () => {
    const body = { ...readJsonFixture<AlertmanagerPayload>("payloads/alertmanager-firing-group.json"), alerts: [] };

    expect(normalizeBody(body, recordingContext("2024-05-14T08:05:00.000Z"))).toEqual([]);
  });
});

describe("alertmanager payload errors", () => {
  type AlertFields = Record<string, unknown> & { labels: Record<string, unknown> };
  type Mutation = (alerts: AlertFields[]) => void;

  function groupWith(change: Mutation): unknown {
    const body = readJsonFixture<{ alerts: AlertFields[] }>("payloads/alertmanager-firing-group.json");
    change(body.alerts);
    return body;
  }

  it("rejects other payload versions", () => {
    const body = { ...readJsonFixture<Record<string, unknown>>("payloads/alertmanager-firing-group.json"), version: "3" };

    const error = bridgeErrorOf(() => parsePayload(alertmanagerSource.schema, body, "alertmanager"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("version");
  });

  function setField(index: number, key: string, value: unknown): Mutation {
    return (alerts) => {
      const alert = alerts[index];
      if (alert !== undefined) alert[key] = value;
    };
  }

  function setLabel(index: number, key: string, value: unknown): Mutation {
    return (alerts) => {
      const alert = alerts[index];
      if (alert !== undefined) alert.labels[key] = value;
    };
  }

  // Each row: case, change to the alerts of the firing group, then the expected field.
  const parseCases: Array<[string, Mutation, string]> = [
    ["mistyped fingerprint", setField(1, "fingerprint", 42), "alerts[1].fingerprint"],
    ["non-string label", setLabel(0, "severity", 3), "alerts[0].labels.severity"],
    ["unknown alert status", setField(2, "status", "pending"), "alerts[2].status"],
  ];

  it.each(parseCases)("schema names path of %s", (_case, change, field) => {
    const error = bridgeErrorOf(() => parsePayload(alertmanagerSource.schema, groupWith(change), "alertmanager"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
  });

  // Each row: case, change, expected code and field.
  const normalizeCases: Array<[string, Mutation, string, string]> = [
    ["missing fingerprint", setField(1, "fingerprint", undefined), "BRIDGE.IDENTITY_MISSING", "alerts[1].fingerprint"],
    ["empty fingerprint", setField(2, "fingerprint", ""), "BRIDGE.IDENTITY_MISSING", "alerts[2].fingerprint"],
    ["zero startsAt", setField(0, "startsAt", "0001-01-01T00:00:00Z"), "BRIDGE.IDENTITY_MISSING", "alerts[0].startsAt"],
    ["unreadable startsAt", setField(2, "startsAt", "yesterday"), "BRIDGE.TIME_INVALID", "alerts[2].startsAt"],
  ];

  it.each(normalizeCases)("normalize rejects %s", (_case, change, code, field) => {
    const error = bridgeErrorOf(() => normalizeBody(groupWith(change), recordingContext("2024-05-14T08:05:00.000Z")));

    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});

describe("unquoteReceiver", () => {
  it("removes regular-expression quoting", () => {
    expect(unquoteReceiver("soc\\.bridge")).toBe("soc.bridge");
    expect(unquoteReceiver("team\\-a\\+b \\(eu\\)")).toBe("team\\-a+b (eu)");
    expect(unquoteReceiver("plain")).toBe("plain");
    expect(unquoteReceiver("back\\\\slash")).toBe("back\\slash");
  });
});
