 
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { parsePayload } from "../../lib/sources/parse";
import { wazuhSeverity, wazuhSource } from "../../lib/sources/wazuh";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, checkAlerts, expectOnlyBridgeErrors, idOf, mutatedDocument, normalizeBody, randomDelivery, RECEIVED_AT } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";

// The tests edit fixture JSON in place, so fixture values are typed loosely.
 
type Json = any;

const RAW = "payloads/wazuh-raw-alert-sshd-bruteforce.json";
const SHUFFLE = "payloads/wazuh-shuffle-style-wrapper.json";
const SYSCHECK = "wazuh/syscheck-without-manager.json";

describe("wazuhSource golden content", () => {
  it("normalizes the raw sshd alert", () => {
    const alerts = normalizeBody(wazuhSource, readJsonFixture(RAW));

    expect(alerts).toStrictEqual([
      {
        source: "wazuh",
        scope: "wazuh-manager-01",
        key: "1715680512.8812345",
        episode: "",
        status: "firing",
        content: {
          title: "sshd: brute force trying to get access to the system. Authentication failed.",
          description: "May 14 09:55:12 web-02 sshd[21877]: Failed password for invalid user oracle from 198.51.100.23 port 40188 ssh2",
          severity: "Medium",
          alert_type: {
            category: "Credential Access",
            alert_type: "T1110 Brute Force",
          },
          first_observed_time: "2024-05-14T09:55:12.481Z",
          last_observed_time: "2024-05-14T09:55:12.481Z",
          create_time: "2024-05-14T16:00:00.000Z",
          count: 14,
          handle_status: "Open",
          network_list: [
            {
              src_ip: "198.51.100.23",
              src_port: 40188,
            },
          ],
          user_info: [
            {
              user_name: "oracle",
            },
          ],
          resource_list: [
            {
              id: "014",
              name: "web-02",
              type: "host",
              provider: "wazuh",
            },
          ],
          process: [
            {
              process_name: "sshd",
            },
          ],
          labels: "syslog,sshd,authentication_failures,rule=5763,agent_ip=192.0.2.41,location=/var/log/auth.log",
          data_source: {
            source_type: 2,
            company_name: "Wazuh",
            product_name: "Wazuh",
            product_feature: "wazuh-manager-01",
            product_module: "sshd",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("unwraps the Shuffle-style body to the same alert", () => {
    const alerts = normalizeBody(wazuhSource, readJsonFixture(SHUFFLE));

    expect(alerts).toStrictEqual([
      {
        source: "wazuh",
        scope: "wazuh-manager-01",
        key: "1715680512.8812345",
        episode: "",
        status: "firing",
        content: {
          title: "sshd: brute force trying to get access to the system. Authentication failed.",
          description: "May 14 09:55:12 web-02 sshd[21877]: Failed password for invalid user oracle from 198.51.100.23 port 40188 ssh2",
          severity: "Medium",
          alert_type: {
            category: "Credential Access",
            alert_type: "T1110 Brute Force",
          },
          first_observed_time: "2024-05-14T09:55:12.481Z",
          last_observed_time: "2024-05-14T09:55:12.481Z",
          create_time: "2024-05-14T16:00:00.000Z",
          count: 14,
          handle_status: "Open",
          network_list: [
            {
              src_ip: "198.51.100.23",
              src_port: 40188,
            },
          ],
          user_info: [
            {
              user_name: "oracle",
            },
          ],
          resource_list: [
            {
              id: "014",
              name: "web-02",
              type: "host",
              provider: "wazuh",
            },
          ],
          process: [
            {
              process_name: "sshd",
            },
          ],
          labels: "syslog,sshd,authentication_failures,rule=5763,agent_ip=192.0.2.41,location=/var/log/auth.log",
          data_source: {
            source_type: 2,
            company_name: "Wazuh",
            product_name: "Wazuh",
            product_feature: "wazuh-manager-01",
            product_module: "sshd",
          },
        },
      },
    ]);
  });

  it("scopes an alert without manager by cluster node", () => {
    const alerts = normalizeBody(wazuhSource, readJsonFixture(SYSCHECK));

    expect(alerts).toStrictEqual([
      {
        source: "wazuh",
        scope: "master-01",
        key: "1715681560.1048576",
        episode: "",
        status: "firing",
        content: {
          title: "Integrity checksum changed.",
          description: "File '/etc/ssh/sshd_config' modified\nMode: realtime\nChanged attributes: size,mtime,md5,sha1,sha256\n",
          severity: "Low",
          alert_type: {
            category: "ossec",
            alert_type: "syscheck_file",
          },
          first_observed_time: "2024-05-14T10:12:40.052Z",
          last_observed_time: "2024-05-14T10:12:40.052Z",
          create_time: "2024-05-14T16:00:00.000Z",
          count: 2,
          handle_status: "Open",
          resource_list: [
            {
              id: "021",
              name: "db-01",
              type: "host",
              provider: "wazuh",
            },
          ],
          file_info: [
            {
              file_path: "/etc/ssh/sshd_config",
              file_md5: "1a2b3c4d5e6f708192a3b4c5d6e7f809",
              file_hash: "8899aabbccddeeff0011223344556677889900aa",
              file_sha256: "bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899aa00",
              file_attr: "rw-r--r--",
            },
          ],
          labels: "ossec,syscheck,syscheck_entry_modified,syscheck_file,rule=550,agent_ip=192.0.2.57,location=syscheck",
          data_source: {
            source_type: 2,
            company_name: "Wazuh",
            product_name: "Wazuh",
            product_feature: "master-01",
            product_module: "syscheck_integrity_changed",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });
});

describe("wazuhSource identity", () => {
  it("pins action_instance_id per fixture", () => {
    const ids = [RAW, SHUFFLE, SYSCHECK].map((file) => idOf(normalizeBody(wazuhSource, readJsonFixture(file))[0]));

    expect(ids).toStrictEqual(["74f7ce4c-85b1-5cfb-80b6-ac173e6bab33", "74f7ce4c-85b1-5cfb-80b6-ac173e6bab33", "746d34af-1070-53a8-82c0-38effebcb786"]);
  });

  it("keeps the id when the same alert is posted again", () => {
    const repeat: Json = readJsonFixture(RAW);
    repeat.previous_output = "";

    expect(idOf(normalizeBody(wazuhSource, repeat)[0])).toBe("74f7ce4c-85b1-5cfb-80b6-ac173e6bab33");
  });

  it("gives the next firing of the rule a new id", () => {
    const next: Json = readJsonFixture(RAW);
    next.id = "1715680519.8815012";
    next.rule.firedtimes = 15;

    expect(idOf(normalizeBody(wazuhSource, next)[0])).not.toBe("74f7ce4c-85b1-5cfb-80b6-ac173e6bab33");
  });

  it("separates equal ids of two managers", () => {
    const other: Json = readJsonFixture(RAW);
    other.manager.name = "wazuh-manager-02";

    const [alert] = normalizeBody(wazuhSource, other);

    expect(alert?.scope).toBe("wazuh-manager-02");
    expect(idOf(alert)).not.toBe("74f7ce4c-85b1-5cfb-80b6-ac173e6bab33");
  });

  it("rejects an alert without manager or cluster node", () => {
    const body: Json = readJsonFixture(RAW);
    delete body.manager;
    delete body.cluster;

    const error = caught(() => normalizeBody(wazuhSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("manager.name");
  });

  it("names the wrapper path of a missing id", () => {
    const body: Json = readJsonFixture(SHUFFLE);
    delete body.id;
    delete body.all_fields.id;

    const error = caught(() => normalizeBody(wazuhSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("all_fields.id");
  });
});

describe("wazuhSeverity", () => {
  it.each([
    [0, "Tips"],
    [3, "Tips"],
    [4, "Low"],
    [7, "Low"],
    [8, "Medium"],
    [11, "Medium"],
    [12, "High"],
    [14, "High"],
    [15, "Fatal"],
    [16, "Fatal"],
  ])("maps level %i to %s", (level, severity) => {
    expect(wazuhSeverity(level)).toBe(severity);
  });

  it.each([-1, 17, 7.5])("returns undefined for level %s", (level) => {
    expect(wazuhSeverity(level)).toBeUndefined();
  });

  it("reports a missing level as unknown", () => {
    const body: Json = readJsonFixture(SHUFFLE);
    delete body.all_fields.rule.level;
    const context = recordingContext(RECEIVED_AT);

    wazuhSource.normalize(parsePayload(wazuhSource.schema, body, "wazuh"), context);

    expect(context.unknownCalls).toStrictEqual([{ field: "all_fields.rule.level", value: undefined }]);
  });
});

describe("wazuhSource schema errors", () => {
  it("names the path of a wrong level type", () => {
    const body: Json = readJsonFixture(SHUFFLE);
    body.all_fields.rule.level = "10";

    const error = caught(() => parsePayload(wazuhSource.schema, body, "wazuh"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("all_fields.rule.level");
  });

  it("rejects a body that is not an object", () => {
    const error = caught(() => parsePayload(wazuhSource.schema, ["alert"], "wazuh"));

    expect(error.field).toBe("(body)");
  });
});

describe("wazuhSource properties", () => {
  it("throws only bridge errors on mutated alerts", () => {
    const documents = [RAW, SHUFFLE, SYSCHECK].map((file) => mutatedDocument(readJsonFixture(file)));
    fc.assert(
      fc.property(fc.oneof(...documents), (body) => {
        expectOnlyBridgeErrors(wazuhSource, body, checkAlerts);
      }),
      { numRuns: 400 },
    );
  });

  it("throws only bridge errors on random deliveries", () => {
    fc.assert(
      fc.property(randomDelivery(["all_fields", "id", "manager", "cluster", "rule", "agent", "data", "syscheck", "timestamp"]), (body) => {
        expectOnlyBridgeErrors(wazuhSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });
});
