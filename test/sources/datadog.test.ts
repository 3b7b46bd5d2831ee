import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { datadogSource } from "../../lib/sources/datadog";
import { parsePayload } from "../../lib/sources/parse";
import { normalizeBody } from "./delivery-fuzz";
import { caught, describeDeliveryProperties, fixture, idOf, normalizeRecorded, type Json } from "./source-test-kit";

const TRIGGERED = "datadog/custom-triggered.json";
const RECOVERED = "datadog/custom-recovered.json";
const SIGNAL = "datadog/security-signal.json";
const DEFAULT_PAYLOAD = "datadog/default-triggered.json";

/** action_instance_id of monitor 148275309, scope host:web-01…, cycle 7423158901234000111. */
const CYCLE_ID = "2090967f-7731-55db-8d02-c57784d39a78";

describe("datadogSource golden content", () => {
  it("triggered monitor", () => {
    const alerts = normalizeBody(datadogSource, fixture(TRIGGERED));

    expect(alerts).toStrictEqual([
      {
        source: "datadog",
        scope: "482910",
        key: "148275309/host:web-01.example.com",
        episode: "7423158901234000111",
        status: "firing",
        content: {
          title: "High CPU on web tier",
          description: "CPU on web-01.example.com has been above 95% for 10 minutes.\nQuery: avg(last_10m):avg:system.cpu.user{service:shop-web} by {host} > 95",
          severity: "High",
          first_observed_time: "2024-05-14T10:38:45.000Z",
          last_observed_time: "2024-05-14T10:38:45.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Datadog",
            company_name: "Datadog",
            product_feature: "query_alert_monitor",
            product_module: "Example Org",
          },
          alert_type: {
            category: "query_alert_monitor",
          },
          resource_list: [
            {
              name: "web-01.example.com",
              tags: {
                host: "web-01.example.com",
              },
            },
          ],
          labels: "env:prod,host:web-01.example.com,monitor,service:shop-web,team:secops",
          source_url: "https://app.datadog.example.com/event/jump_to?event_id=7423158901234567890",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("recovery of the cycle", () => {
    const alerts = normalizeBody(datadogSource, fixture(RECOVERED));

    expect(alerts).toStrictEqual([
      {
        source: "datadog",
        scope: "482910",
        key: "148275309/host:web-01.example.com",
        episode: "7423158901234000111",
        status: "resolved",
        content: {
          title: "High CPU on web tier",
          description: "CPU on web-01.example.com is back below 95%.\nQuery: avg(last_10m):avg:system.cpu.user{service:shop-web} by {host} > 95",
          severity: "High",
          last_observed_time: "2024-05-14T10:58:45.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Datadog",
            company_name: "Datadog",
            product_feature: "query_alert_monitor",
            product_module: "Example Org",
          },
          alert_type: {
            category: "query_alert_monitor",
          },
          resource_list: [
            {
              name: "web-01.example.com",
              tags: {
                host: "web-01.example.com",
              },
            },
          ],
          labels: "env:prod,host:web-01.example.com,monitor,service:shop-web,team:secops",
          source_url: "https://app.datadog.example.com/event/jump_to?event_id=7423158901234569999",
          count: 1,
          handle_status: "Closed",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("security signal keyed on signal id", () => {
    const alerts = normalizeBody(datadogSource, fixture(SIGNAL));

    expect(alerts).toStrictEqual([
      {
        source: "datadog",
        scope: "482910",
        key: "signal/AQAAAY9x1Xw0cG9zdGVkAAAA",
        episode: "",
        status: "firing",
        content: {
          title: "Brute force followed by successful login on shop-web",
          description: "Successful login for svc-deploy after 40 failures from 203.0.113.90.",
          severity: "High",
          first_observed_time: "2024-05-14T11:10:00.000Z",
          last_observed_time: "2024-05-14T11:10:00.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Datadog",
            company_name: "Datadog",
            product_feature: "security_signal",
            product_module: "Example Org",
          },
          alert_type: {
            category: "security_signal",
            alert_type: "Brute force followed by successful login",
          },
          labels: "env:prod,service:shop-web,source:cloudtrail",
          source_url: "https://app.datadog.example.com/security?event=AQAAAY9x1Xw0cG9zdGVkAAAA",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("content passes the Alert schema", () => {
    for (const path of [TRIGGERED, RECOVERED, SIGNAL]) {
      for (const alert of normalizeBody(datadogSource, fixture(path))) {
        expect(alertSchema.safeParse(alert.content).success).toBe(true);
      }
    }
  });
});

describe("datadogSource identity", () => {
  it("pinned action_instance_id values", () => {
    const [triggered] = normalizeBody(datadogSource, fixture(TRIGGERED));
    const [signal] = normalizeBody(datadogSource, fixture(SIGNAL));

    expect(idOf(triggered)).toBe(CYCLE_ID);
    expect(idOf(signal)).toBe("45773843-f3b4-5de0-b0c5-e9c4e8d87768");
  });

  it("recovery keeps the triggered id", () => {
    const [recovered] = normalizeBody(datadogSource, fixture(RECOVERED));

    expect(idOf(recovered)).toBe(CYCLE_ID);
  });

  it.each(["Re-Triggered", "Renotify", "Warn"])("%s keeps the cycle id", (transition) => {
    const body = fixture(TRIGGERED);
    body.id = "7423158901234568888";
    body.alert_transition = transition;
    body.date = "1715686725000";
    body.last_updated = "1715686725000";

    const [alert] = normalizeBody(datadogSource, body);

    expect(idOf(alert)).toBe(CYCLE_ID);
  });

  it("next cycle gets a new id", () => {
    const body = fixture(TRIGGERED);
    body.alert_cycle_key = "7423158901299000222";

    const [alert] = normalizeBody(datadogSource, body);

    expect(idOf(alert)).not.toBe(CYCLE_ID);
  });

  it("monitor groups get separate ids", () => {
    const body = fixture(TRIGGERED);
    body.alert_scope = "host:web-02.example.com";
    body.hostname = "web-02.example.com";

    const [alert] = normalizeBody(datadogSource, body);

    expect(alert?.key).toBe("148275309/host:web-02.example.com");
    expect(idOf(alert)).not.toBe(CYCLE_ID);
  });

  it("unquoted identity variables", () => {
    const body = fixture(TRIGGERED);
    body.alert_id = 148275309;
    body.org_id = 482910;

    const [alert] = normalizeBody(datadogSource, body);

    expect(idOf(alert)).toBe(CYCLE_ID);
  });

  it("default payload lacks identity", () => {
    const error = caught(() => normalizeBody(datadogSource, fixture(DEFAULT_PAYLOAD)));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("alert_id");
    expect(error.statusCode).toBe(422);
    // It used to suggest the generic source, although the Datadog template sends the id.
    expect(error.fix).toBe('set the webhook\'s custom payload to the template in docs/sources/datadog.md ("Datadog setup"), which sends alert_id');
  });

  it.each([
    ["alert_cycle_key", (body: Json) => (body.alert_cycle_key = "")],
    ["alert_id", (body: Json) => delete body.alert_id],
    ["org_id", (body: Json) => delete body.org_id],
  ])("rejects a notification without %s", (field, mutate) => {
    const body = fixture(TRIGGERED);
    mutate(body);

    const error = caught(() => normalizeBody(datadogSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe(field);
  });
});

describe("datadogSource severity and status", () => {
  it.each([
    ["P1", "Fatal"],
    ["P2", "High"],
    ["P3", "Medium"],
    ["P4", "Low"],
    ["P5", "Tips"],
  ])("maps priority %s to %s", (priority, expected) => {
    const body = fixture(TRIGGERED);
    body.alert_priority = priority;

    const { alerts, unknownCalls } = normalizeRecorded(datadogSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it.each([
    ["error", "High"],
    ["warning", "Medium"],
    ["info", "Tips"],
  ])("maps alert type %s to %s without a priority", (alertType, expected) => {
    const body = fixture(TRIGGERED);
    body.alert_priority = "";
    body.alert_type = alertType;

    const { alerts, unknownCalls } = normalizeRecorded(datadogSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it.each([
    ["critical", "Fatal"],
    ["medium", "Medium"],
    ["info", "Tips"],
  ])("maps signal severity %s to %s", (word, expected) => {
    const body = fixture(SIGNAL);
    body.security_signal_severity = word;

    const { alerts } = normalizeRecorded(datadogSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
  });

  it("unknown priority", () => {
    const body = fixture(TRIGGERED);
    body.alert_priority = "P7";

    const { alerts, unknownCalls } = normalizeRecorded(datadogSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "alert_priority", value: "P7" }]);
    expect(alerts[0]?.content.severity).toBe("Low");
  });

  it("recovery without priority", () => {
    const body = fixture(RECOVERED);
    body.alert_priority = "";

    const { alerts, unknownCalls } = normalizeRecorded(datadogSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "alert_type", value: "success" }]);
    expect(alerts[0]?.status).toBe("resolved");
  });

  it("only Datadog's title prefix is stripped", () => {
    const body = fixture(TRIGGERED);
    body.title = "[P2] [Re-Triggered on {host:web-01.example.com,env:prod}] [prod] High CPU on web tier";

    const [alert] = normalizeBody(datadogSource, body);

    expect(alert?.content.title).toBe("[prod] High CPU on web tier");
  });
});

describe("datadogSource schema", () => {
  it.each([
    ["alert_transition", (body: Json) => (body.alert_transition = ["Triggered"])],
    ["date", (body: Json) => (body.date = { epoch: 1715683125000 })],
    ["tags", (body: Json) => (body.tags = ["env:prod"])],
    ["org.id", (body: Json) => (body.org = { id: null })],
  ])("names %s in the error", (field, mutate) => {
    const body = fixture(TRIGGERED);
    mutate(body);

    const error = caught(() => parsePayload(datadogSource.schema, body, "datadog"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
  });

  it("accepts the default payload's shape", () => {
    const payload = parsePayload(datadogSource.schema, fixture(DEFAULT_PAYLOAD), "datadog");

    expect(payload.org).toStrictEqual({ id: "482910", name: "Example Org" });
  });

  it("non-epoch date is rejected", () => {
    const body = fixture(TRIGGERED);
    body.last_updated = "Tue May 14 2024 10:38:45 UTC";

    const error = caught(() => normalizeBody(datadogSource, body));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("last_updated");
  });
});

describeDeliveryProperties(datadogSource, ["id", "title", "date", "alert_id", "alert_cycle_key", "alert_scope", "alert_transition", "org_id", "body", "org"], [TRIGGERED, RECOVERED, SIGNAL, DEFAULT_PAYLOAD]);
