import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import type { ConfigError } from "../../lib/errors";
import { parsePayload } from "../../lib/sources/parse";
import { splunkSource } from "../../lib/sources/splunk";
import { readFixture } from "../helpers/fixtures";
import { normalizeBody } from "./delivery-fuzz";
import { caught, describeDeliveryProperties, fixture, idOf, normalizeRecorded, type Json } from "./source-test-kit";

const ONCE = "splunk/once.json";
const PER_RESULT_1 = "splunk/per-result-1.json";
const PER_RESULT_2 = "splunk/per-result-2.json";
const ENDPOINT = "splunk/per-result-endpoint.json";
const NULL_RESULT = "splunk/null-result.json";

describe("splunkSource golden content", () => {
  it("once trigger with default options", () => {
    const alerts = normalizeBody(splunkSource, fixture(ONCE));

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682000_4711#b482639f6bd17bff0c83e962957b4115b8397f1603a2e8671d563ea1d9bfe973",
        episode: "",
        status: "firing",
        content: {
          last_observed_time: "2024-05-14T10:19:56.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_feature: "Excessive failed logins by source",
            product_module: "search",
          },
          labels: "owner=admin",
          source_url: "https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682000_4711",
          count: 57,
          verification_state: "Unknown",
          title: "Excessive failed logins by source",
          description: "src_ip=198.51.100.23,user=svc-backup,dest=web-02.example.com,count=57,first_seen=1715681712,last_seen=1715681996",
          severity: "Low",
          first_observed_time: "2024-05-14T10:15:12.000Z",
          network_list: [
            {
              src_ip: "198.51.100.23",
              dest_domain: "web-02.example.com",
            },
          ],
          resource_list: [
            {
              name: "web-02.example.com",
            },
          ],
          user_info: [
            {
              user_name: "svc-backup",
            },
          ],
          handle_status: "Open",
        },
      },
    ]);
  });

  it("once trigger keyed on sid alone", () => {
    const alerts = normalizeBody(splunkSource, fixture(ONCE), { trigger: "once" });

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682000_4711",
        episode: "",
        status: "firing",
        content: {
          last_observed_time: "2024-05-14T10:19:56.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_feature: "Excessive failed logins by source",
            product_module: "search",
          },
          labels: "owner=admin",
          source_url: "https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682000_4711",
          count: 57,
          verification_state: "Unknown",
          title: "Excessive failed logins by source",
          description: "src_ip=198.51.100.23,user=svc-backup,dest=web-02.example.com,count=57,first_seen=1715681712,last_seen=1715681996",
          severity: "Low",
          first_observed_time: "2024-05-14T10:15:12.000Z",
          network_list: [
            {
              src_ip: "198.51.100.23",
              dest_domain: "web-02.example.com",
            },
          ],
          resource_list: [
            {
              name: "web-02.example.com",
            },
          ],
          user_info: [
            {
              user_name: "svc-backup",
            },
          ],
          handle_status: "Open",
        },
      },
    ]);
  });

  it("first row of a for-each-result run", () => {
    const alerts = normalizeBody(splunkSource, fixture(PER_RESULT_1));

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88#b60f2445429d964e47f1d09fec0fe51a0542a1ef3e533c2e14e1c111c27020d0",
        episode: "",
        status: "firing",
        content: {
          last_observed_time: "2024-05-14T10:21:41.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_feature: "SOC - TLS beacon detected",
            product_module: "SA-soc",
          },
          labels: "owner=secops,sourcetype=pan:threat",
          source_url: "https://splunk.example.com:8000/app/SA-soc/@go?sid=rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88",
          count: 1,
          verification_state: "Unknown",
          title: "SOC - TLS beacon detected",
          description: "May 14 10:21:41 fw-edge-01 THREAT,beacon,203.0.113.45,192.0.2.80,443,high",
          severity: "High",
          first_observed_time: "2024-05-14T10:21:41.000Z",
          alert_type: {
            alert_type: "Suspicious TLS beacon",
          },
          network_list: [
            {
              src_ip: "203.0.113.45",
              dest_ip: "192.0.2.80",
              dest_port: "443",
            },
          ],
          resource_list: [
            {
              name: "fw-edge-01.example.com",
            },
          ],
          user_info: [
            {
              user_name: "j.doe",
            },
          ],
          handle_status: "Open",
        },
      },
    ]);
  });

  it("second row of a run", () => {
    const alerts = normalizeBody(splunkSource, fixture(PER_RESULT_2));

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88#8951117a6870e715f62276b4f75247a50a27d60dee970e75899c1ad21c5f15c9",
        episode: "",
        status: "firing",
        content: {
          last_observed_time: "2024-05-14T10:21:44.250Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_feature: "SOC - TLS beacon detected",
            product_module: "SA-soc",
          },
          labels: "owner=secops,sourcetype=pan:threat",
          source_url: "https://splunk.example.com:8000/app/SA-soc/@go?sid=rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88",
          count: 1,
          verification_state: "Unknown",
          title: "SOC - TLS beacon detected",
          description: "May 14 10:21:44 fw-edge-01 THREAT,beacon,203.0.113.46,192.0.2.81,8443,critical",
          severity: "Fatal",
          first_observed_time: "2024-05-14T10:21:44.250Z",
          alert_type: {
            alert_type: "Suspicious TLS beacon",
          },
          network_list: [
            {
              src_ip: "203.0.113.46",
              dest_ip: "192.0.2.81",
              dest_port: "8443",
            },
          ],
          resource_list: [
            {
              name: "fw-edge-01.example.com",
            },
          ],
          user_info: [
            {
              user_name: "j.doe",
            },
            {
              user_name: "svc-proxy",
            },
          ],
          handle_status: "Open",
        },
      },
    ]);
  });

  it("lists content fields in a fixed order", () => {
    const [once] = normalizeBody(splunkSource, fixture(ONCE));
    const [endpoint] = normalizeBody(splunkSource, fixture(ENDPOINT));

    expect(Object.keys(once?.content ?? {})).toStrictEqual([
      "last_observed_time",
      "create_time",
      "data_source",
      "labels",
      "source_url",
      "count",
      "verification_state",
      "title",
      "description",
      "severity",
      "first_observed_time",
      "network_list",
      "resource_list",
      "user_info",
      "handle_status",
    ]);
    expect(Object.keys(endpoint?.content ?? {})).toStrictEqual([
      "last_observed_time",
      "create_time",
      "data_source",
      "labels",
      "source_url",
      "count",
      "verification_state",
      "title",
      "description",
      "severity",
      "first_observed_time",
      "alert_type",
      "network_list",
      "resource_list",
      "user_info",
      "process",
      "file_info",
      "handle_status",
    ]);
    expect(Object.keys(once?.content.data_source ?? {})).toStrictEqual(["source_type", "product_name", "company_name", "product_feature", "product_module"]);
  });

  it("CIM process and file fields", () => {
    const alerts = normalizeBody(splunkSource, fixture(ENDPOINT));

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "scheduler__secops__SA-soc__RMD5a0b1c2d3e4f5a6b7_at_1715683200_132#ac7a50cc165a696b504f1d40d9e5d61a43915873e18a22d978a50550d6b1f849",
        episode: "",
        status: "firing",
        content: {
          last_observed_time: "2024-05-14T10:39:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_feature: "SOC - Encoded PowerShell from Office parent",
            product_module: "SA-soc",
          },
          labels: "owner=secops",
          source_url: "https://splunk.example.com:8000/app/SA-soc/@go?sid=scheduler__secops__SA-soc__RMD5a0b1c2d3e4f5a6b7_at_1715683200_132",
          count: 3,
          verification_state: "Unknown",
          title: "SOC - Encoded PowerShell from Office parent",
          description: "dest=wks-0317.corp.example.com,user=CORP\\m.rossi,process_name=powershell.exe,process_id=7344,process=powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=,process_path=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe,parent_process_name=WINWORD.EXE,parent_process_id=5120,file_hash=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,category=execution,urgency=high,first_seen=1715683111,last_seen=1715683140,count=3",
          severity: "High",
          first_observed_time: "2024-05-14T10:38:31.000Z",
          alert_type: {
            category: "execution",
          },
          network_list: [
            {
              dest_domain: "wks-0317.corp.example.com",
            },
          ],
          resource_list: [
            {
              name: "wks-0317.corp.example.com",
            },
          ],
          user_info: [
            {
              user_name: "CORP\\m.rossi",
            },
          ],
          process: [
            {
              process_name: "powershell.exe",
              process_path: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
              process_pid: 7344,
              process_cmdline: "powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
              process_parent_name: "WINWORD.EXE",
              process_parent_pid: 5120,
            },
          ],
          file_info: [
            {
              file_hash: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
              file_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            },
          ],
          handle_status: "Open",
        },
      },
    ]);
  });

  it("test trigger is skipped", () => {
    const alerts = normalizeBody(splunkSource, fixture(NULL_RESULT));

    expect(alerts).toStrictEqual([
      {
        source: "splunk",
        scope: "https://splunk.example.com:8000",
        key: "1715682400.9981",
        episode: "",
        status: "firing",
        skipReason: "Splunk ad-hoc or test trigger without a search name or result row",
        content: {
          last_observed_time: "2024-05-14T16:00:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Splunk",
            company_name: "Splunk",
            product_module: "search",
          },
          labels: "owner=admin",
          source_url: "https://splunk.example.com:8000/app/search/@go?sid=1715682400.9981",
          count: 1,
          verification_state: "Unknown",
          title: "Splunk alert",
          handle_status: "Open",
        },
      },
    ]);
  });

  it("content passes the Alert schema", () => {
    for (const path of [ONCE, PER_RESULT_1, PER_RESULT_2, ENDPOINT, NULL_RESULT]) {
      for (const alert of normalizeBody(splunkSource, fixture(path))) {
        expect(alertSchema.safeParse(alert.content).success).toBe(true);
      }
    }
  });
});

describe("splunkSource identity", () => {
  it("pinned action_instance_id values", () => {
    const ids = [ONCE, PER_RESULT_1, PER_RESULT_2, ENDPOINT, NULL_RESULT].map((path) => idOf(normalizeBody(splunkSource, fixture(path))[0]));
    const onceTrigger = idOf(normalizeBody(splunkSource, fixture(ONCE), { trigger: "once" })[0]);

    expect(ids).toStrictEqual([
      "9a4de971-1499-59ec-9107-e18631eba885",
      "eea7b7c8-1310-5a79-9d59-3c164538f666",
      "1b15f676-dcfe-5aa1-9650-d9d671b12656",
      "a7d528d5-13f4-52df-a876-ef5f7337fd0e",
      "5474d98a-7fc7-5827-a423-b036110f7ae2",
    ]);
    expect(onceTrigger).toBe("2e771e7b-63f3-5cbf-90e0-78d0e3e890a0");
  });

  it("byte-exact stock body parses", () => {
    const raw = readFixture(PER_RESULT_1);

    expect(raw).toContain('{"sid": "rt_scheduler__secops__');
    expect(idOf(normalizeBody(splunkSource, JSON.parse(raw))[0])).toBe("eea7b7c8-1310-5a79-9d59-3c164538f666");
  });

  it("ignores the field order of a row", () => {
    const body = fixture(PER_RESULT_1);
    body.result = Object.fromEntries(Object.entries(body.result as Record<string, string>).reverse());

    const [alert] = normalizeBody(splunkSource, body);

    expect(idOf(alert)).toBe("eea7b7c8-1310-5a79-9d59-3c164538f666");
  });

  it("next run gets a new id", () => {
    const body = fixture(ONCE);
    body.sid = "scheduler__admin__search__RMD5e461c1b0a3c2f5a8_at_1715682300_4712";

    const [alert] = normalizeBody(splunkSource, body, { trigger: "once" });

    expect(idOf(alert)).not.toBe("2e771e7b-63f3-5cbf-90e0-78d0e3e890a0");
  });

  it("keys rows on a configured id field", () => {
    const options = { searches: { "SOC - TLS beacon detected": { idField: "src_ip" } } };

    const [first] = normalizeBody(splunkSource, fixture(PER_RESULT_1), options);
    const [second] = normalizeBody(splunkSource, fixture(PER_RESULT_2), options);

    expect(first?.key).toBe("rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88#src_ip=203.0.113.45");
    expect(second?.key).toBe("rt_scheduler__secops__SA-soc__RMD59b1c0d2e3f4a5b6c_at_1715682100_88#src_ip=203.0.113.46");
  });

  it("missing id field is rejected", () => {
    const error = caught(() => normalizeBody(splunkSource, fixture(PER_RESULT_1), { idField: "event_id" }));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("result.event_id");
  });

  it("rejects an empty sid", () => {
    const body = fixture(ONCE);
    body.sid = " ";

    const error = caught(() => normalizeBody(splunkSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("sid");
  });

  it("scopes the same sid by Splunk instance", () => {
    const body = fixture(NULL_RESULT);
    body.results_link = "https://splunk-eu.example.com:8000/app/search/@go?sid=1715682400.9981";

    const [alert] = normalizeBody(splunkSource, body);

    expect(alert?.scope).toBe("https://splunk-eu.example.com:8000");
    expect(idOf(alert)).not.toBe("5474d98a-7fc7-5827-a423-b036110f7ae2");
  });

  it.each([
    // The URL parser skips the slashes after an empty host, so the host follows them.
    ["an empty host", "http:///a.example.com/x", "http:///b.example.com/x", "http://a.example.com", "http://b.example.com"],
    // It removes tabs first, which leaves an empty host here.
    ["a tab as host", "https://\t/a.example.com/x", "https://\t/b.example.com/x", "https://a.example.com", "https://b.example.com"],
    ["the same host", "https://s.example.com:8000/a?x=1", "https://s.example.com:8000/@b.example.com", "https://s.example.com:8000", "https://s.example.com:8000"],
  ])("scopes two links after %s", (_case, firstLink, secondLink, firstScope, secondScope) => {
    const first = fixture(NULL_RESULT);
    first.results_link = firstLink;
    const second = fixture(NULL_RESULT);
    second.results_link = secondLink;

    const [firstAlert] = normalizeBody(splunkSource, first);
    const [secondAlert] = normalizeBody(splunkSource, second);

    expect(firstAlert?.scope).toBe(firstScope);
    expect(secondAlert?.scope).toBe(secondScope);
  });
});

describe("splunkSource row fields", () => {
  it("describes a row without message", () => {
    const body = fixture(ONCE);
    body.result = { _time: "1715681712", user: "", tags: ["a", "b"], empty: [], dest: "web-02" };

    const [alert] = normalizeBody(splunkSource, body);

    expect(alert?.content.description).toBe("tags=a|b,dest=web-02");
  });

  it("names each resource host once", () => {
    const body = fixture(ONCE);
    body.result = { dest: "web-02", dest_host: "198.51.100.7", host: "web-02" };

    const [alert] = normalizeBody(splunkSource, body);

    expect(alert?.content.resource_list).toStrictEqual([{ name: "web-02" }]);
  });

  it("lists distinct resource hosts in field order", () => {
    const body = fixture(ONCE);
    body.result = { host: "web-03", dest: "web-01", dest_host: "web-02" };

    const [alert] = normalizeBody(splunkSource, body);

    expect(alert?.content.resource_list).toStrictEqual([{ name: "web-01" }, { name: "web-02" }, { name: "web-03" }]);
  });
});

describe("splunkSource null results", () => {
  it("named search without rows is kept", () => {
    const body = fixture(NULL_RESULT);
    body.search_name = "Firewall logs missing for 15 minutes";

    const { alerts, unknownCalls } = normalizeRecorded(splunkSource, body);

    expect(alerts[0]?.skipReason).toBeUndefined();
    expect(alerts[0]?.key).toBe("1715682400.9981");
    expect(alerts[0]?.content.title).toBe("Firewall logs missing for 15 minutes");
    expect(unknownCalls).toStrictEqual([{ field: "result.severity", value: undefined }]);
  });

  it("ad-hoc trigger with a row is kept", () => {
    const body = fixture(PER_RESULT_1);
    body.search_name = null;

    const [alert] = normalizeBody(splunkSource, body);

    expect(alert?.skipReason).toBeUndefined();
    expect(alert?.content.title).toBe("Splunk alert");
  });
});

describe("splunkSource severity", () => {
  it.each([
    ["critical", "Fatal"],
    ["high", "High"],
    ["medium", "Medium"],
    ["low", "Low"],
    ["info", "Tips"],
    ["informational", "Tips"],
  ])("maps severity %s to %s", (word, expected) => {
    const body = fixture(PER_RESULT_1);
    body.result.severity = word;

    const { alerts, unknownCalls } = normalizeRecorded(splunkSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it("unknown severity word", () => {
    const body = fixture(PER_RESULT_1);
    body.result.severity = "5";

    const { alerts, unknownCalls } = normalizeRecorded(splunkSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "result.severity", value: "5" }]);
    expect(alerts[0]?.content.severity).toBe("Low");
  });

  it("search severity option fills a gap", () => {
    const options = { searches: { "Excessive failed logins by source": { severity: "High" } } };

    const { alerts, unknownCalls } = normalizeRecorded(splunkSource, fixture(ONCE), options);

    expect(alerts[0]?.content.severity).toBe("High");
    expect(unknownCalls).toStrictEqual([]);
  });

  it("no severity anywhere asks unknownSeverity", () => {
    const { unknownCalls } = normalizeRecorded(splunkSource, fixture(ONCE));

    expect(unknownCalls).toStrictEqual([{ field: "result.severity", value: undefined }]);
  });

  it("invalid options list every problem", () => {
    const error = caught(() => normalizeRecorded(splunkSource, fixture(ONCE), { trigger: "each", searches: { x: { severity: "high" } } })) as ConfigError;

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error.issues).toHaveLength(2);
  });
});

describe("splunkSource schema", () => {
  it.each([
    ["sid", (body: Json) => delete body.sid],
    ["search_name", (body: Json) => (body.search_name = 7)],
    ["results_link", (body: Json) => (body.results_link = null)],
    ["result.count", (body: Json) => (body.result.count = 57)],
    ["result.user", (body: Json) => (body.result.user = { name: "svc-backup" })],
    ["result", (body: Json) => (body.result = ["198.51.100.23"])],
  ])("names %s in the error", (field, mutate) => {
    const body = fixture(ONCE);
    mutate(body);

    const error = caught(() => parsePayload(splunkSource.schema, body, "splunk"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
  });

  it("non-epoch _time is rejected", () => {
    const body = fixture(PER_RESULT_1);
    body.result._time = "May 14 10:21:41";

    const error = caught(() => normalizeBody(splunkSource, body));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("result._time");
  });
});

describeDeliveryProperties(splunkSource, ["sid", "search_name", "app", "owner", "results_link", "result"], [ONCE, PER_RESULT_1, ENDPOINT, NULL_RESULT]);
