import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { parsePayload } from "../../lib/sources/parse";
import { sentinelSource } from "../../lib/sources/sentinel";
import { normalizeBody } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";
import { caught, describeDeliveryProperties, fixture, idOf, normalizeRecorded, type Json } from "./source-test-kit";

const CREATED = "sentinel/incident-created.json";
const UPDATED = "sentinel/incident-updated.json";
const CLOSED = "sentinel/incident-closed.json";

/** action_instance_id of incident 7d3f1c2e… in workspace 5a5a5a5a… for the golden workflow. */
const INCIDENT_ID = "cf4daa2f-4fe7-5bae-b76e-e00b1d478742";

describe("sentinelSource golden content", () => {
  it("normalizes a created incident", () => {
    const alerts = normalizeBody(sentinelSource, fixture(CREATED));

    expect(alerts).toStrictEqual([
      {
        source: "sentinel",
        scope: "5a5a5a5a-6b6b-4c7c-8d8d-9e9e9e9e9e9e",
        key: "7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
        episode: "",
        status: "firing",
        content: {
          title: "Multiple failed sign-ins followed by success involving one user",
          description: "A user account had many failed sign-ins from one IP address and then signed in successfully.",
          severity: "High",
          first_observed_time: "2024-05-14T09:40:00.000Z",
          last_observed_time: "2024-05-14T09:55:00.000Z",
          update_time: "2024-05-14T10:01:25.881Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Azure Sentinel",
            company_name: "Microsoft",
            product_feature: "Microsoft Sentinel",
            product_module: "law-soc-example",
          },
          alert_type: {
            category: "CredentialAccess, InitialAccess",
            alert_type: "T1110",
          },
          network_list: [
            {
              src_ip: "203.0.113.140",
              src_geo: {
                country_code: "ZZ",
              },
            },
          ],
          resource_list: [
            {
              name: "WKS-0142.corp.example.com",
              tags: {
                os_family: "Windows",
              },
            },
          ],
          user_info: [
            {
              user_id: "0f0e0d0c-0b0a-4909-8807-060504030201",
              user_name: "zoe.angstrom@example.com",
            },
          ],
          labels: "bridge-candidate",
          source_url: "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/00000000-1111-4222-8333-444444444444/resourceGroups/rg-soc-example/providers/Microsoft.OperationalInsights/workspaces/law-soc-example/providers/Microsoft.SecurityInsights/Incidents/7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
          count: 1,
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("update with new alerts and entities", () => {
    const alerts = normalizeBody(sentinelSource, fixture(UPDATED));

    expect(alerts).toStrictEqual([
      {
        source: "sentinel",
        scope: "5a5a5a5a-6b6b-4c7c-8d8d-9e9e9e9e9e9e",
        key: "7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
        episode: "",
        status: "firing",
        content: {
          title: "Multiple failed sign-ins followed by success involving one user",
          description: "A user account had many failed sign-ins from one IP address and then signed in successfully.",
          severity: "High",
          first_observed_time: "2024-05-14T09:40:00.000Z",
          last_observed_time: "2024-05-14T10:12:00.000Z",
          update_time: "2024-05-14T10:20:41.123Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Azure Sentinel, Microsoft Defender for Endpoint",
            company_name: "Microsoft",
            product_feature: "Microsoft Sentinel",
            product_module: "law-soc-example",
          },
          alert_type: {
            category: "CredentialAccess, InitialAccess, Execution",
            alert_type: "T1110, T1059",
          },
          network_list: [
            {
              src_ip: "203.0.113.140",
              src_geo: {
                country_code: "ZZ",
              },
            },
            {
              dest_domain: "files.example.net",
            },
          ],
          resource_list: [
            {
              name: "WKS-0142.corp.example.com",
              tags: {
                os_family: "Windows",
              },
            },
            {
              id: "/subscriptions/00000000-1111-4222-8333-444444444444/resourceGroups/rg-apps/providers/Microsoft.Compute/virtualMachines/vm-app-03",
              name: "vm-app-03",
              provider: "azure",
            },
          ],
          user_info: [
            {
              user_id: "0f0e0d0c-0b0a-4909-8807-060504030201",
              user_name: "zoe.angstrom@example.com",
            },
          ],
          file_info: [
            {
              file_path: "C:\\Users\\zoe.angstrom\\AppData\\Local\\Temp\\invoice-0514.docm",
            },
            {
              file_hash: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
              file_sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            },
          ],
          process: [
            {
              process_pid: 4711,
              process_cmdline: "powershell.exe -NoProfile -EncodedCommand SQBFAFgA",
              process_launche_time: "2024-05-14T10:11:01.500Z",
            },
          ],
          malware: {
            malware_family: "ExampleLoader",
            malware_class: "Trojan",
          },
          labels: "bridge-candidate,escalated",
          source_url: "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/00000000-1111-4222-8333-444444444444/resourceGroups/rg-soc-example/providers/Microsoft.OperationalInsights/workspaces/law-soc-example/providers/Microsoft.SecurityInsights/Incidents/7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
          count: 2,
          owner: "analyst@example.com",
          handle_status: "Open",
          verification_state: "Unknown",
        },
      },
    ]);
  });

  it("closing update", () => {
    const alerts = normalizeBody(sentinelSource, fixture(CLOSED));

    expect(alerts).toStrictEqual([
      {
        source: "sentinel",
        scope: "5a5a5a5a-6b6b-4c7c-8d8d-9e9e9e9e9e9e",
        key: "7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
        episode: "",
        status: "resolved",
        content: {
          title: "Multiple failed sign-ins followed by success involving one user",
          description: "A user account had many failed sign-ins from one IP address and then signed in successfully.",
          severity: "High",
          first_observed_time: "2024-05-14T09:40:00.000Z",
          last_observed_time: "2024-05-14T09:55:00.000Z",
          update_time: "2024-05-14T11:45:09.555Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            product_name: "Azure Sentinel",
            company_name: "Microsoft",
            product_feature: "Microsoft Sentinel",
            product_module: "law-soc-example",
          },
          alert_type: {
            category: "CredentialAccess, InitialAccess",
            alert_type: "T1110",
          },
          network_list: [
            {
              src_ip: "203.0.113.140",
              src_geo: {
                country_code: "ZZ",
              },
            },
          ],
          resource_list: [
            {
              name: "WKS-0142.corp.example.com",
              tags: {
                os_family: "Windows",
              },
            },
          ],
          user_info: [
            {
              user_id: "0f0e0d0c-0b0a-4909-8807-060504030201",
              user_name: "zoe.angstrom@example.com",
            },
          ],
          labels: "bridge-candidate",
          source_url: "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/00000000-1111-4222-8333-444444444444/resourceGroups/rg-soc-example/providers/Microsoft.OperationalInsights/workspaces/law-soc-example/providers/Microsoft.SecurityInsights/Incidents/7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
          count: 1,
          owner: "analyst@example.com",
          handle_status: "Closed",
          verification_state: "True_Positive",
          close_reason: "Resolved",
          close_comment: "SuspiciousActivity: Password reset and sessions revoked; source IP blocked.",
          close_time: "2024-05-14T11:45:09.555Z",
        },
      },
    ]);
  });

  it("content passes the Alert schema", () => {
    for (const path of [CREATED, UPDATED, CLOSED]) {
      for (const alert of normalizeBody(sentinelSource, fixture(path))) {
        expect(alertSchema.safeParse(alert.content).success).toBe(true);
      }
    }
  });
});

describe("sentinelSource identity", () => {
  it("create, update and close share an id", () => {
    const ids = [CREATED, UPDATED, CLOSED].map((path) => idOf(normalizeBody(sentinelSource, fixture(path))[0]));

    expect(ids).toStrictEqual([INCIDENT_ID, INCIDENT_ID, INCIDENT_ID]);
  });

  it("early update keeps the id", () => {
    const [update] = sentinelSource.normalize(
      parsePayload(sentinelSource.schema, fixture(UPDATED), "sentinel"),
      recordingContext("2024-05-14T10:01:26.000Z"),
    );

    expect(idOf(update)).toBe(INCIDENT_ID);
  });

  it("other incident gets a new id", () => {
    const body = fixture(CREATED);
    body.object.name = "8e4a2d3f-9b0c-4d1e-8f2a-3b4c5d6e7f80";
    body.object.properties.incidentNumber = 1043;

    const [alert] = normalizeBody(sentinelSource, body);

    expect(idOf(alert)).not.toBe(INCIDENT_ID);
  });

  it("scopes the incident GUID by workspace", () => {
    const body = fixture(CREATED);
    body.workspaceId = "6b6b6b6b-7c7c-4d8d-9e9e-0f0f0f0f0f0f";

    const [alert] = normalizeBody(sentinelSource, body);

    expect(alert?.scope).toBe("6b6b6b6b-7c7c-4d8d-9e9e-0f0f0f0f0f0f");
    expect(idOf(alert)).not.toBe(INCIDENT_ID);
  });

  it.each([
    ["workspaceId", (body: Json) => delete body.workspaceId],
    ["object.name", (body: Json) => (body.object.name = "")],
  ])("rejects an incident without %s", (field, mutate) => {
    const body = fixture(CREATED);
    mutate(body);

    const error = caught(() => normalizeBody(sentinelSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe(field);
  });
});

describe("sentinelSource severity and status", () => {
  it.each([
    ["Informational", "Tips"],
    ["Low", "Low"],
    ["Medium", "Medium"],
    ["High", "High"],
  ])("maps severity %s to %s", (word, expected) => {
    const body = fixture(CREATED);
    body.object.properties.severity = word;

    const { alerts, unknownCalls } = normalizeRecorded(sentinelSource, body);

    expect(alerts[0]?.content.severity).toBe(expected);
    expect(unknownCalls).toStrictEqual([]);
  });

  it("unknown severity", () => {
    const body = fixture(CREATED);
    body.object.properties.severity = "Critical";

    const { alerts, unknownCalls } = normalizeRecorded(sentinelSource, body);

    expect(unknownCalls).toStrictEqual([{ field: "object.properties.severity", value: "Critical" }]);
    expect(alerts[0]?.content.severity).toBe("Low");
  });

  it.each([
    ["FalsePositive", "False_Positive", "False detection"],
    ["BenignPositive", "Unknown", "Resolved"],
    ["Undetermined", "Unknown", "Other"],
  ])("closes a %s incident as %s with reason %s", (classification, verification, reason) => {
    const body = fixture(CLOSED);
    body.object.properties.classification = classification;

    const [alert] = normalizeBody(sentinelSource, body);

    expect(alert?.status).toBe("resolved");
    expect(alert?.content.verification_state).toBe(verification);
    expect(alert?.content.close_reason).toBe(reason);
  });

  it("keeps an active incident open", () => {
    const [alert] = normalizeBody(sentinelSource, fixture(UPDATED));

    expect(alert?.status).toBe("firing");
    expect(alert?.content.handle_status).toBe("Open");
    expect(alert?.content.close_reason).toBeUndefined();
  });
});

describe("sentinelSource schema", () => {
  it.each([
    ["objectSchemaType", (body: Json) => (body.objectSchemaType = "Alert")],
    ["objectEventType", (body: Json) => (body.objectEventType = "Delete")],
    ["object.properties.status", (body: Json) => (body.object.properties.status = "Resolved")],
    ["object.properties.title", (body: Json) => delete body.object.properties.title],
    ["object.properties.incidentNumber", (body: Json) => (body.object.properties.incidentNumber = "1042")],
    ["object.properties.relatedEntities[2].kind", (body: Json) => delete body.object.properties.relatedEntities[2].kind],
    ["object.properties.labels[0].labelName", (body: Json) => (body.object.properties.labels[0].labelName = null)],
  ])("names %s in the error", (field, mutate) => {
    const body = fixture(CREATED);
    mutate(body);

    const error = caught(() => parsePayload(sentinelSource.schema, body, "sentinel"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe(field);
  });

  it("bad entity time names its path", () => {
    const body = fixture(UPDATED);
    body.object.properties.relatedEntities[3].properties.creationTimeUtc = "14/05/2024 10:11";

    const error = caught(() => normalizeBody(sentinelSource, body));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("object.properties.relatedEntities[3].properties.creationTimeUtc");
  });
});

describeDeliveryProperties(sentinelSource, ["eventUniqueId", "objectSchemaType", "objectEventType", "workspaceId", "object"], [CREATED, UPDATED, CLOSED]);
