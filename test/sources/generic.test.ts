import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SEVERITIES } from "../../lib/alert/schema";
import { ConfigError } from "../../lib/errors";
import { createGenericAdapter, genericMappingSchema, loadGenericMapping, type GenericMappingConfig } from "../../lib/sources/generic";
import { parsePayload } from "../../lib/sources/parse";
import type { NormalizeContext, NormalizedAlert } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { bridgeErrorOf, goldenId, recordingContext } from "./normalize-context";

const IDP_MAPPING = readJsonFixture<GenericMappingConfig>("payloads/generic-mapping-config.json");
const EDGE_FW_MAPPING = readJsonFixture<GenericMappingConfig>("generic/edge-fw-cef-mapping.json");
const EDGE_WAF_MAPPING = readJsonFixture<GenericMappingConfig>("generic/edge-waf-cef-json-mapping.json");

function normalizeWith(config: GenericMappingConfig, body: unknown, context: NormalizeContext): NormalizedAlert[] {
  const adapter = createGenericAdapter(loadGenericMapping(config));
  return adapter.normalize(parsePayload(adapter.schema, body, adapter.id), context);
}

function configIssuesOf(config: unknown): readonly string[] {
  const error = bridgeErrorOf(() => loadGenericMapping(config, "idp.json"));
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${error.code}`);
  return error.issues;
}

describe("generic JSON source", () => {
  it("takes its id from source_key", () => {
    const adapter = createGenericAdapter(loadGenericMapping(IDP_MAPPING));

    expect(adapter.id).toBe("custom-idp");
    expect(adapter.displayName).toBe("custom-idp");
  });

  it("maps one object with the fixture mapping", () => {
    const context = recordingContext("2024-05-14T09:02:14.000Z");

    const alerts = normalizeWith(IDP_MAPPING, readJsonFixture("generic/custom-idp-alert.json"), context);

    expect(alerts).toEqual([
      {
        source: "custom-idp",
        scope: "",
        key: "idp-alert-20240514-0042",
        episode: "",
        status: "firing",
        content: {
          title: "Impossible travel for j.doe@example.com",
          description: "Sign-ins from two countries within 14 minutes.",
          severity: "High",
          first_observed_time: "2024-05-14T09:02:11.250Z",
          last_observed_time: "2024-05-14T09:02:14.000Z",
          create_time: "2024-05-14T09:02:14.000Z",
          data_source: { source_type: 2, product_name: "Customer IdP", company_name: "Example Corp" },
          network_list: [{ src_ip: "198.51.100.44" }],
          user_info: [{ user_name: "j.doe@example.com" }],
          labels: "identity,impossible-travel",
          source_url: "https://idp.example.com/alerts/idp-alert-20240514-0042",
          handle_status: "Open",
          verification_state: "Unknown",
          count: 1,
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["ac11a0a2-cffd-54f3-baca-0b187cae1246"]);
    expect(context.unknownCalls).toEqual([]);
  });

  it("checks object targets with the Alert schema", () => {
    const mapping = { ...IDP_MAPPING, fields: { ...IDP_MAPPING.fields, alert_type: "$.context", "system_info.login": "$.context.user.login" } };
    const item = { alert: { uid: "a-1", what: "x" }, context: { category: "c", extra: "dropped", user: { login: "j" } } };

    const [alert] = normalizeWith(mapping, item, recordingContext("2024-05-14T09:02:14.000Z"));

    expect(alert?.content.alert_type).toStrictEqual({ category: "c" });
    expect(alert?.content.system_info).toStrictEqual({ login: "j" });
    expect(Object.keys(alert?.content ?? {})).toStrictEqual([
      "data_source",
      "last_observed_time",
      "create_time",
      "title",
      "count",
      "severity",
      "alert_type",
      "verification_state",
      "handle_status",
      "user_info",
      "system_info",
    ]);
  });

  it("splits an array and hashes items without id", () => {
    const context = recordingContext("2024-05-14T10:15:01.000Z");

    const alerts = normalizeWith(IDP_MAPPING, readJsonFixture("generic/custom-idp-batch.json"), context);

    expect(alerts).toEqual([
      {
        source: "custom-idp",
        scope: "",
        key: "idp-alert-20240514-0042",
        episode: "",
        status: "resolved",
        content: {
          title: "Impossible travel for j.doe@example.com",
          severity: "High",
          first_observed_time: "2024-05-14T09:02:11.250Z",
          last_observed_time: "2024-05-14T10:15:01.000Z",
          create_time: "2024-05-14T10:15:01.000Z",
          data_source: { source_type: 2, product_name: "Customer IdP", company_name: "Example Corp" },
          handle_status: "Closed",
          verification_state: "Unknown",
          count: 1,
        },
      },
      {
        source: "custom-idp",
        scope: "",
        key: "sha256:5ef809e571185a91fef9d9425ebc1f41de0655d76d9b8bcdffba37268caeb00e",
        episode: "",
        status: "firing",
        content: {
          title: "MFA push flood for 王小明",
          description: "37 push requests in 5 minutes; 用户未批准。",
          severity: "Low",
          first_observed_time: "2024-05-14T09:13:20.000Z",
          last_observed_time: "2024-05-14T10:15:01.000Z",
          create_time: "2024-05-14T10:15:01.000Z",
          data_source: { source_type: 2, product_name: "Customer IdP", company_name: "Example Corp" },
          user_info: [{ user_name: "wang.xiaoming@example.com" }],
          labels: "mfa,鉴权",
          handle_status: "Open",
          verification_state: "Unknown",
          count: 1,
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["ac11a0a2-cffd-54f3-baca-0b187cae1246", "b3bbdf64-b791-529b-93b9-e844a25c3031"]);
    expect(context.unknownCalls).toEqual([{ field: "[1].alert.level", value: "sev-x" }]);
  });

  it("leaves volatile fields out of the body hash", () => {
    const mapping = { ...IDP_MAPPING, identity: { fallback: "sha256-of-canonical-body" as const, volatile_fields: ["$.delivered_at"] } };
    const [, item] = readJsonFixture<Array<Record<string, unknown>>>("generic/custom-idp-batch.json");
    const later = { ...item, delivered_at: "2024-05-14T10:20:00Z" };

    const [first] = normalizeWith(mapping, item, recordingContext("2024-05-14T10:15:01.000Z"));
    const [second] = normalizeWith(mapping, later, recordingContext("2024-05-14T10:20:01.000Z"));

    expect(first?.key).toBe("sha256:540fc302af3e388b9b7bcf33ab5ceb99af117b5d406126644d92a240f2d09845");
    expect(second?.key).toBe(first?.key);
  });

  it("joins several identity fields", () => {
    const mapping = { ...IDP_MAPPING, identity: { fields: ["$.alert.uid", "$.context.user.login"] } };

    const [alert] = normalizeWith(mapping, readJsonFixture("generic/custom-idp-alert.json"), recordingContext("2024-05-14T09:02:14.000Z"));

    expect(alert?.key).toBe("idp-alert-20240514-0042|j.doe@example.com");
  });

  it("rejects a missing identity without fallback", () => {
    const mapping = { ...IDP_MAPPING, identity: { fields: ["$.alert.uid"] } };

    const error = bridgeErrorOf(() => normalizeWith(mapping, readJsonFixture("generic/custom-idp-batch.json"), recordingContext("2024-05-14T10:15:01.000Z")));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("[1].alert.uid");
    expect(error.fix).toBe('make the sender include [1].alert.uid, or set identity.fallback "sha256-of-canonical-body" in the custom-idp mapping');
  });

  it("starts a new episode when the episode path changes", () => {
    const mapping = { ...IDP_MAPPING, identity: { fields: ["$.alert.uid"], episode: { path: "$.alert.created", type: "epoch_ms" as const } } };
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    const context = recordingContext("2024-05-14T09:02:14.000Z");

    const [first] = normalizeWith(mapping, body, context);
    body.alert.created = 1715763731250;
    const [second] = normalizeWith(mapping, body, context);
    delete body.alert.created;
    const missing = bridgeErrorOf(() => normalizeWith(mapping, body, context));

    if (first === undefined || second === undefined) throw new Error("expected one alert per delivery");
    expect(first.episode).toBe("2024-05-14T09:02:11.250Z");
    expect(second.episode).toBe("2024-05-15T09:02:11.250Z");
    expect(goldenId(second)).not.toBe(goldenId(first));
    expect(missing.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(missing.field).toBe("alert.created");
    expect(missing.fix).toBe("make the sender include alert.created, or change identity.episode in the custom-idp mapping");
  });

  it("gives a repeat delivery the same id", () => {
    const body = readJsonFixture("generic/custom-idp-alert.json");

    const first = normalizeWith(IDP_MAPPING, body, recordingContext("2024-05-14T09:02:14.000Z"));
    const repeat = normalizeWith(IDP_MAPPING, body, recordingContext("2024-05-14T09:07:14.000Z"));

    expect(repeat.map(goldenId)).toEqual(first.map(goldenId));
  });

  it("maps the CEF-like JSON sample with the ready mapping", () => {
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const alerts = normalizeWith(EDGE_WAF_MAPPING, readJsonFixture("payloads/generic-cef-like-json.json"), context);

    expect(alerts).toEqual([
      {
        source: "edge-waf",
        scope: "",
        key: "ExampleCorp|EdgeWAF|waf-7f3e9c1a-000421",
        episode: "",
        status: "firing",
        content: {
          title: "SQL injection attempt blocked",
          description: "Detects classic SQL tautology",
          severity: "High",
          first_observed_time: "2024-05-14T11:07:10.000Z",
          last_observed_time: "2024-05-14T11:07:14.567Z",
          create_time: "2024-05-14T11:07:15.000Z",
          count: 12,
          data_source: { source_type: 2, company_name: "ExampleCorp", product_name: "EdgeWAF", product_module: "waf-eu-01" },
          alert_type: { category: "Web attack" },
          network_list: [
            {
              protocol: "TCP",
              src_ip: "203.0.113.61",
              src_port: 52811,
              dest_ip: "192.0.2.80",
              dest_port: "443",
              dest_domain: "shop.example.com",
            },
          ],
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["9628ea00-9536-5a2e-b8f2-d766b9151d3e"]);
  });
});

describe("generic source in CEF format", () => {
  it("maps a CEF line inside JSON", () => {
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const alerts = normalizeWith(EDGE_FW_MAPPING, readJsonFixture("payloads/generic-cef-line-in-json.json"), context);

    expect(alerts).toEqual([
      {
        source: "edge-fw",
        scope: "",
        key: "ExampleCorp|EdgeFW|100234|198.51.100.90|192.0.2.15",
        episode: "2024-05-14T11:07:11.000Z",
        status: "firing",
        content: {
          title: "Port scan detected | external",
          description: "Scan from 198.51.100.90 across 312 ports; filter=syn-only",
          severity: "High",
          first_observed_time: "2024-05-14T11:07:11.000Z",
          last_observed_time: "2024-05-14T11:07:11.000Z",
          create_time: "2024-05-14T11:07:15.000Z",
          count: 312,
          data_source: { source_type: 2, company_name: "ExampleCorp", product_name: "EdgeFW" },
          network_list: [{ protocol: "TCP", src_ip: "198.51.100.90", dest_ip: "192.0.2.15" }],
          labels: "signature_id=100234,zone=dmz",
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
    expect(alerts.map(goldenId)).toEqual(["62c341e3-c6b3-5585-82e3-ea05d0830e16"]);
    // The Alert schema's order, in which the content goes to SecMaster.
    expect(JSON.stringify(alerts[0]?.content)).toBe(
      '{"labels":"signature_id=100234,zone=dmz","data_source":{"source_type":2,"company_name":"ExampleCorp","product_name":"EdgeFW"},' +
        '"first_observed_time":"2024-05-14T11:07:11.000Z","last_observed_time":"2024-05-14T11:07:11.000Z","create_time":"2024-05-14T11:07:15.000Z",' +
        '"title":"Port scan detected | external","description":"Scan from 198.51.100.90 across 312 ports; filter=syn-only","count":312,"severity":"High",' +
        '"network_list":[{"protocol":"TCP","src_ip":"198.51.100.90","dest_ip":"192.0.2.15"}],"verification_state":"Unknown","handle_status":"Open"}',
    );
  });

  it("maps every built-in CEF field", () => {
    const line =
      "CEF:0|ExampleCorp|EdgeIDS|2.0|7001|Credential stuffing|Very-High|externalId=ids-42 cat=Brute force " +
      "src=203.0.113.5 spt=40022 shost=bot.example.net dst=192.0.2.10 dpt=22 dhost=bastion.example.com proto=TCP " +
      "suser=attacker suid=0 duser=root duid=0 fname=authorized_keys filePath=/root/.ssh/authorized_keys fileHash=ab12 " +
      "start=1715684830000 end=1715684834567 cnt=40 act=alerted";

    const [alert] = normalizeWith(EDGE_FW_MAPPING, [line], recordingContext("2024-05-14T11:07:15.000Z"));

    expect(alert).toEqual({
      source: "edge-fw",
      scope: "",
      key: "ExampleCorp|EdgeIDS|ids-42",
      episode: "",
      status: "firing",
      content: {
        title: "Credential stuffing",
        severity: "Fatal",
        first_observed_time: "2024-05-14T11:07:10.000Z",
        last_observed_time: "2024-05-14T11:07:14.567Z",
        create_time: "2024-05-14T11:07:15.000Z",
        count: 40,
        data_source: { source_type: 2, company_name: "ExampleCorp", product_name: "EdgeIDS" },
        alert_type: { category: "Brute force" },
        network_list: [
          {
            protocol: "TCP",
            src_ip: "203.0.113.5",
            src_port: 40022,
            src_domain: "bot.example.net",
            dest_ip: "192.0.2.10",
            dest_port: "22",
            dest_domain: "bastion.example.com",
          },
        ],
        user_info: [
          { user_name: "attacker", user_id: "0" },
          { user_name: "root", user_id: "0" },
        ],
        file_info: [{ file_path: "/root/.ssh/authorized_keys", file_hash: "ab12" }],
        labels: "act=alerted,signature_id=7001",
        handle_status: "Open",
        verification_state: "Unknown",
      },
    });
  });

  it.each([
    ["0", "Tips"],
    ["3", "Low"],
    ["4", "Medium"],
    ["6", "Medium"],
    ["7", "High"],
    ["8", "High"],
    ["9", "Fatal"],
    ["10", "Fatal"],
    ["low", "Low"],
    ["Medium", "Medium"],
    ["HIGH", "High"],
    ["Very-High", "Fatal"],
  ])("maps CEF severity %s to %s", (severity, expected) => {
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const [alert] = normalizeWith(EDGE_FW_MAPPING, `CEF:0|V|P|1|s|n|${severity}|externalId=x`, context);

    expect(alert?.content.severity).toBe(expected);
    expect(context.unknownCalls).toEqual([]);
  });

  it.each(["Unknown", "11", ""])("sends CEF severity %j to unknownSeverity", (severity) => {
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const [alert] = normalizeWith(EDGE_FW_MAPPING, { message: `CEF:0|V|P|1|s|n|${severity}|externalId=x` }, context);

    expect(alert?.content.severity).toBe("Low");
    expect(context.unknownCalls).toHaveLength(1);
    expect(context.unknownCalls[0]?.field).toBe("message (CEF severity)");
  });

  it("lets mapping fields replace built-in ones", () => {
    const mapping = {
      ...EDGE_FW_MAPPING,
      fields: {
        severity: { path: "$.severity", map: { "7": "Fatal" } },
        "data_source.product_module": "$.deviceVersion",
        "network_list[0]": { const: { src_ip: "192.0.2.1" } },
      },
    };

    const [alert] = normalizeWith(mapping, readJsonFixture("payloads/generic-cef-line-in-json.json"), recordingContext("2024-05-14T11:07:15.000Z"));

    expect(alert?.content.severity).toBe("Fatal");
    expect(alert?.content.data_source).toEqual({ source_type: 2, company_name: "ExampleCorp", product_name: "EdgeFW", product_module: "9.1" });
    expect(alert?.content.network_list).toEqual([{ src_ip: "192.0.2.1" }]);
  });

  it.each([
    ["0", "Tips"],
    ["2", "Low"],
    ["7", "Fatal"],
    ["8", "High"],
    ["10", "Fatal"],
    ["Very-High", "Fatal"],
  ])("keeps the CEF scale beside a severity map: %s to %s", (severity, expected) => {
    const mapping = { ...EDGE_FW_MAPPING, fields: { severity: { path: "$.severity", map: { "7": "Fatal" } } } };
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const [alert] = normalizeWith(mapping, `CEF:0|V|P|1|s|n|${severity}|externalId=x`, context);

    expect(alert?.content.severity).toBe(expected);
    expect(context.unknownCalls).toEqual([]);
  });

  it("keeps the CEF scale for a severity without map", () => {
    const mapping = { ...EDGE_FW_MAPPING, fields: { severity: { path: ["$.cs1", "$.severity"] } } };
    const context = recordingContext("2024-05-14T11:07:15.000Z");

    const [alert] = normalizeWith(mapping, "CEF:0|V|P|1|s|n|5|externalId=x cs1=9", context);

    expect(alert?.content.severity).toBe("Fatal");
    expect(context.unknownCalls).toEqual([]);
  });

  it("converts a mapped severity word", () => {
    const mapping = { ...EDGE_FW_MAPPING, fields: { severity: { path: "$.severity", map: { "Unknown": "critical", "11": "3" } } } };

    const alerts = normalizeWith(mapping, ["CEF:0|V|P|1|s|n|Unknown|externalId=x", "CEF:0|V|P|1|s|n|11|externalId=y"], recordingContext("2024-05-14T11:07:15.000Z"));

    expect(alerts.map((alert) => alert.content.severity)).toEqual(["Fatal", "Low"]);
  });

  it("overrides only the severities a map lists", () => {
    const cefValues = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "low", "Medium", "HIGH", "Very-High", "Unknown", "11", "P1", "critical"];
    const overrides = fc.dictionary(fc.constantFrom(...cefValues), fc.constantFrom(...SEVERITIES), { maxKeys: 6 });

    fc.assert(
      fc.property(overrides, fc.constantFrom(...cefValues), (map, severity) => {
        const line = `CEF:0|V|P|1|s|n|${severity}|externalId=x`;
        const [builtIn] = normalizeWith(EDGE_FW_MAPPING, line, recordingContext("2024-05-14T11:07:15.000Z"));
        const mapping = { ...EDGE_FW_MAPPING, fields: { severity: { path: "$.severity", map } } };

        const [overridden] = normalizeWith(mapping, line, recordingContext("2024-05-14T11:07:15.000Z"));

        const listed = Object.hasOwn(map, severity) ? map[severity] : undefined;
        expect(overridden?.content.severity).toBe(listed ?? builtIn?.content.severity);
      }),
      { numRuns: 200 },
    );
  });

  it("uses the mapping zone for zone-less rt", () => {
    const mapping = { ...EDGE_FW_MAPPING, time_zone: "Asia/Shanghai" };

    const [alert] = normalizeWith(mapping, "CEF:0|V|P|1|s|n|5|rt=May 14 2024 19:07:11 src=10.0.0.1", recordingContext("2024-05-14T11:07:15.000Z"));
    const error = bridgeErrorOf(() =>
      normalizeWith(EDGE_FW_MAPPING, "CEF:0|V|P|1|s|n|5|rt=May 14 2024 19:07:11 src=10.0.0.1", recordingContext("2024-05-14T11:07:15.000Z")),
    );

    expect(alert?.episode).toBe("2024-05-14T11:07:11.000Z");
    expect(alert?.content.first_observed_time).toBe("2024-05-14T11:07:11.000Z");
    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("(body) (CEF rt)");
  });

  it("rejects an event with neither externalId nor rt", () => {
    const error = bridgeErrorOf(() => normalizeWith(EDGE_FW_MAPPING, ["CEF:0|V|P|1|s|n|5|src=10.0.0.1"], recordingContext("2024-05-14T11:07:15.000Z")));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("[0] (CEF externalId)");
    expect(error.message).toBe("edge-fw alert has no stable identity: the CEF event has neither externalId nor rt");
    expect(error.fix).toBe('make the sender include the CEF key externalId or rt, or set identity.fallback "sha256-of-canonical-body" in the edge-fw mapping');
  });

  it("hashes an event without identity when the mapping allows it", () => {
    const mapping = { ...EDGE_FW_MAPPING, identity: { fallback: "sha256-of-canonical-body" as const } };

    const [alert] = normalizeWith(mapping, ["CEF:0|V|P|1|s|n|5|src=10.0.0.1"], recordingContext("2024-05-14T11:07:15.000Z"));

    expect(alert?.key).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("names the column of a broken CEF line", () => {
    const error = bridgeErrorOf(() => normalizeWith(EDGE_FW_MAPPING, [{ message: "ok" }, { message: "CEF:0|V|P" }], recordingContext("2024-05-14T11:07:15.000Z")));

    expect(error.code).toBe("BRIDGE.CEF_INVALID");
    expect(error.field).toBe("[0].message");
  });

  it("rejects an item without a CEF line", () => {
    const error = bridgeErrorOf(() => normalizeWith(EDGE_FW_MAPPING, { line: "CEF:0|V|P|1|s|n|5|" }, recordingContext("2024-05-14T11:07:15.000Z")));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("message");
  });
});

describe("generic payload errors", () => {
  it.each([
    ["a number body", 42, "(body)"],
    ["a string item in json format", [{ alert: {} }, "CEF:0|V|P|1|s|n|5|"], "[1]"],
    ["null", null, "(body)"],
  ])("rejects %s", (_case, body, field) => {
    const adapter = createGenericAdapter(loadGenericMapping(IDP_MAPPING));

    const error = bridgeErrorOf(() => parsePayload(adapter.schema, body, adapter.id));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
    expect(error.fix).toBe("send a JSON object, or an array of them, as this source's mapping expects; see docs/sources/generic.md");
  });

  it("names the target of a value that does not fit", () => {
    const mapping = { ...IDP_MAPPING, fields: { ...IDP_MAPPING.fields, count: "$.alert.what" } };

    const error = bridgeErrorOf(() => normalizeWith(mapping, readJsonFixture("generic/custom-idp-alert.json"), recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("alert.what");
    expect(error.message).toContain("target count");
  });

  it("names the target of a failed int conversion", () => {
    const mapping = { ...IDP_MAPPING, fields: { ...IDP_MAPPING.fields, confidence: { path: "$.alert.level", type: "int" as const } } };

    const error = bridgeErrorOf(() => normalizeWith(mapping, readJsonFixture("generic/custom-idp-alert.json"), recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("alert.level");
    expect(error.message).toContain("target confidence");
  });

  it("names the field of an unreadable time", () => {
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    body.alert.created = "last tuesday";

    const error = bridgeErrorOf(() => normalizeWith(IDP_MAPPING, body, recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("alert.created");
  });
});

describe("generic time type errors", () => {
  const ZONELESS = "2026-12-05T10:11:12";

  it("names target, path and type on mismatch", () => {
    const mapping = { ...IDP_MAPPING, time_zone: "UTC" };
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    body.alert.created = ZONELESS;

    const error = bridgeErrorOf(() => normalizeWith(mapping, [body], recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("[0].alert.created");
    expect(error.message).toBe(
      `invalid timestamp at [0].alert.created: fields["first_observed_time"] reads $.alert.created with "type": "epoch_ms", but the value is not epoch milliseconds: "${ZONELESS}"`,
    );
    expect(error.fix).toBe(
      'change "type" of fields["first_observed_time"] in the custom-idp mapping to "rfc3339" (or remove "type" to read any supported time format), or make the sender send epoch milliseconds at [0].alert.created',
    );
  });

  it("reads the value once the type is rfc3339", () => {
    const fields = { ...IDP_MAPPING.fields, first_observed_time: { path: "$.alert.created", type: "rfc3339" as const } };
    const mapping = { ...IDP_MAPPING, time_zone: "UTC", fields };
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    body.alert.created = ZONELESS;

    const [alert] = normalizeWith(mapping, body, recordingContext("2024-05-14T09:02:14.000Z"));

    expect(alert?.content.first_observed_time).toBe("2026-12-05T10:11:12.000Z");
  });

  it("names the type for a number with type rfc3339", () => {
    const fields = { ...IDP_MAPPING.fields, first_observed_time: { path: "$.alert.created", type: "rfc3339" as const } };

    const error = bridgeErrorOf(() => normalizeWith({ ...IDP_MAPPING, fields }, readJsonFixture("generic/custom-idp-alert.json"), recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.message).toBe('invalid timestamp at alert.created: fields["first_observed_time"] reads $.alert.created with "type": "rfc3339", but the value is not RFC 3339 text: 1715677331250');
    expect(error.fix).toBe(
      'change "type" of fields["first_observed_time"] in the custom-idp mapping to "epoch_ms" or "epoch_s" (or remove "type" to read any supported time format), or make the sender send RFC 3339 text at alert.created',
    );
  });

  it("names identity.episode for an episode of the wrong type", () => {
    const mapping = { ...IDP_MAPPING, time_zone: "UTC", identity: { fields: ["$.alert.uid"], episode: { path: "$.alert.opened", type: "epoch_s" as const } } };
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    body.alert.opened = ZONELESS;

    const error = bridgeErrorOf(() => normalizeWith(mapping, body, recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.message).toBe(`invalid timestamp at alert.opened: identity.episode reads $.alert.opened with "type": "epoch_s", but the value is not epoch seconds: "${ZONELESS}"`);
    expect(error.fix).toBe(
      'change "type" of identity.episode in the custom-idp mapping to "rfc3339" (or remove "type" to read any supported time format), or make the sender send epoch seconds at alert.opened',
    );
  });

  it("keeps the zone message for a zone-less rfc3339 time", () => {
    const fields = { ...IDP_MAPPING.fields, first_observed_time: { path: "$.alert.created", type: "rfc3339" as const } };
    const body = readJsonFixture<{ alert: Record<string, unknown> }>("generic/custom-idp-alert.json");
    body.alert.created = ZONELESS;

    const error = bridgeErrorOf(() => normalizeWith({ ...IDP_MAPPING, fields }, body, recordingContext("2024-05-14T09:02:14.000Z")));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.message).toContain("the time has no zone; set time_zone in the source mapping");
  });
});

describe("generic CEF value errors", () => {
  const LINE = "CEF:0|ExampleCorp|EdgeFW|9.1|100234|Port scan|7|src=198.51.100.90 cnt=lots rt=May 14 2024 11:07:11 UTC";

  it("names the CEF key of a value that does not fit", () => {
    const error = bridgeErrorOf(() => normalizeWith(EDGE_FW_MAPPING, { message: LINE }, recordingContext("2024-05-14T11:07:15.000Z")));

    expect(error.message).toBe("invalid edge-fw alert: target count (from message (CEF cnt)): Invalid input: expected number, received string");
    expect(error.field).toBe("message (CEF cnt)");
  });

  it("names the item and CEF key in a batch", () => {
    const body = [{ message: LINE.replace("cnt=lots", "cnt=3 spt=99999") }];

    const error = bridgeErrorOf(() => normalizeWith(EDGE_FW_MAPPING, body, recordingContext("2024-05-14T11:07:15.000Z")));

    expect(error.message).toBe("invalid edge-fw alert: target network_list[0].src_port (from [0].message (CEF spt)): Too big: expected number to be <=65535");
    expect(error.field).toBe("[0].message (CEF spt)");
  });
});

describe("generic mapping config", () => {
  it("accepts the fixture mappings", () => {
    expect(genericMappingSchema().safeParse(IDP_MAPPING).success).toBe(true);
    expect(genericMappingSchema().safeParse(EDGE_FW_MAPPING).success).toBe(true);
    expect(genericMappingSchema().safeParse(EDGE_WAF_MAPPING).success).toBe(true);
  });

  it.each([
    ["unknown target", { fields: { "network_list[0].srcip": "$.a" } }, 'idp.json: fields.network_list[0].srcip: unknown target "network_list[0].srcip": "network_list[0]" has no field "srcip"'],
    ["target below a scalar", { fields: { "title.text": "$.a" } }, 'idp.json: fields.title.text: unknown target "title.text": "title" has no fields'],
    ["index on an object", { fields: { "data_source[0]": "$.a" } }, 'idp.json: fields.data_source[0]: unknown target "data_source[0]": "data_source" is not a list'],
    ["rooted target", { fields: { "$.title": "$.a" } }, 'idp.json: fields.$.title: target path "$.title" must not start with "$"'],
    ["path without root", { fields: { title: "alert.what" } }, 'idp.json: fields.title: path "alert.what" must start with "$"'],
    ["bad path in spec", { fields: { title: { path: "$.a[x]" } } }, 'idp.json: fields.title.path: invalid path "$.a[x]"'],
    ["bad path in list", { fields: { title: { path: ["$.a", "$."] } } }, 'idp.json: fields.title.path[1]: invalid path "$."'],
    ["bad episode path", { identity: { fields: ["$.a"], episode: "a" } }, 'idp.json: identity.episode.path: path "a" must start with "$"'],
    ["unknown field key", { fields: { title: { path: "$.a", paht: "$.b" } } }, "idp.json: fields.title.paht: unknown key of a field rule"],
    ["bad type", { fields: { title: { path: "$.a", type: "date" } } }, "idp.json: fields.title.type:"],
    ["const of wrong type", { fields: { count: { const: "many" } } }, 'idp.json: fields.count.const: value does not fit target "count": Invalid input: expected number, received string'],
    ["severity default", { fields: { severity: { path: "$.a", default: "Critical" } } }, "idp.json: fields.severity.default: severity default must be one of Tips, Low, Medium, High, Fatal"],
    ["overlapping targets", { fields: { data_source: { const: {} }, "data_source.product_name": "$.a" } }, 'idp.json: fields.data_source.product_name: target "data_source.product_name" overlaps target "data_source"; map one of them'],
    ["missing identity", { identity: undefined }, "idp.json: identity: set identity.fields or identity.fallback"],
    ["cef_field in json format", { cef_field: "$.message" }, 'idp.json: cef_field: cef_field needs "format": "cef"'],
    ["unknown time zone", { time_zone: "Mars/Olympus" }, "idp.json: time_zone: must be UTC, a fixed offset"],
    ["bad source_key", { source_key: "Custom IdP" }, "idp.json: source_key: must be 1-63 lower-case letters"],
    ["unknown top-level key", { sevirity: {} }, "idp.json: sevirity: unknown key; check its spelling against the mapping reference"],
    ["unknown identity key", { identity: { fields: ["$.a"], fallbak: "none" } }, "idp.json: identity.fallbak: unknown key"],
  ])("reports %s", (_case, change, expected) => {
    const issues = configIssuesOf({ ...IDP_MAPPING, ...change });

    expect(issues.some((issue) => issue.startsWith(expected))).toBe(true);
  });

  it("names a mapping that is not an object as a whole", () => {
    const issues = configIssuesOf(["not", "a", "mapping"]);

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^idp\.json: \(mapping\): /);
  });

  it("lists every problem at once", () => {
    const issues = configIssuesOf({ ...IDP_MAPPING, time_zone: "Mars/Olympus", fields: { nope: "$.a", title: "x" } });

    expect(issues).toHaveLength(3);
  });
});
