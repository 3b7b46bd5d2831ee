 
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { cesSeverity, huaweiCloudCesSource, parseCesText, smnSubscribeUrl } from "../../lib/sources/huaweicloud-ces";
import { parsePayload } from "../../lib/sources/parse";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, checkAlerts, expectOnlyBridgeErrors, idOf, mutatedDocument, normalizeBody, randomDelivery, RECEIVED_AT } from "./delivery-fuzz";
import { recordingContext } from "./normalize-context";

// The tests edit fixture JSON in place, so fixture values are typed loosely.
 
type Json = any;

const ALARM = "payloads/ces-smn-alarm-notification.json";
const CONFIRMATION = "payloads/ces-smn-subscription-confirmation.json";
const RECOVERY = "huaweicloud-ces/smn-recovery-notification.json";
const PLAIN_TEXT = "huaweicloud-ces/smn-plain-text-notification.json";

function withMessage(file: string, edit: (message: Json) => void): Json {
  const body: Json = readJsonFixture(file);
  const message = JSON.parse(body.message);
  edit(message);
  body.message = JSON.stringify(message);
  return body;
}

describe("huaweiCloudCesSource golden content", () => {
  it("normalizes the JSON alarm notification", () => {
    const alerts = normalizeBody(huaweiCloudCesSource, readJsonFixture(ALARM));

    expect(alerts).toStrictEqual([
      {
        source: "huaweicloud-ces",
        scope: "0a1b2c3d4e5f60718293a4b5c6d7e8f9/ap-southeast-3",
        key: "al1715652000000aBcDeFgHiJk/instance_id=3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
        episode: "ah240514T023512SAD2yARym",
        status: "firing",
        content: {
          title: "[Major] Cloud Eye alarm ecs-cpu-high-prod triggered on shop-web-03",
          description: "SYS.ECS cpu_util, current value 96.4 %, condition average >= 90 % over 300 s for 3 consecutive periods",
          severity: "High",
          alert_type: {
            category: "SYS.ECS",
            alert_type: "cpu_util",
          },
          first_observed_time: "2024-05-14T02:35:12.000Z",
          last_observed_time: "2024-05-14T02:35:12.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Open",
          resource_list: [
            {
              id: "3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
              name: "shop-web-03",
              type: "ecs",
              provider: "huaweicloud",
              region_id: "ap-southeast-3",
              project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            },
          ],
          labels: "status=alarm,namespace=SYS.ECS,metric=cpu_util,instance_id=3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
          source_url: "https://console-intl.huaweicloud.com/ces/?region=ap-southeast-3#/alarms/detail?alarmId=al1715652000000aBcDeFgHiJk",
          data_source: {
            source_type: 1,
            company_name: "Huawei Cloud",
            product_name: "Cloud Eye",
            product_feature: "cpu_util",
            product_module: "SYS.ECS",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
          environment: {
            vendor_type: "HuaweiCloud",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("resolves the episode on the recovery notification", () => {
    const alerts = normalizeBody(huaweiCloudCesSource, readJsonFixture(RECOVERY));

    expect(alerts).toStrictEqual([
      {
        source: "huaweicloud-ces",
        scope: "0a1b2c3d4e5f60718293a4b5c6d7e8f9/ap-southeast-3",
        key: "al1715652000000aBcDeFgHiJk/instance_id=3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
        episode: "ah240514T023512SAD2yARym",
        status: "resolved",
        content: {
          title: "[Major] Cloud Eye alarm ecs-cpu-high-prod recovered on shop-web-03",
          description: "SYS.ECS cpu_util, current value 41.7 %, condition average >= 90 % over 300 s for 3 consecutive periods",
          severity: "High",
          alert_type: {
            category: "SYS.ECS",
            alert_type: "cpu_util",
          },
          last_observed_time: "2024-05-14T02:50:12.000Z",
          close_time: "2024-05-14T02:50:12.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Closed",
          resource_list: [
            {
              id: "3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
              name: "shop-web-03",
              type: "ecs",
              provider: "huaweicloud",
              region_id: "ap-southeast-3",
              project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            },
          ],
          labels: "status=ok,namespace=SYS.ECS,metric=cpu_util,instance_id=3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
          source_url: "https://console-intl.huaweicloud.com/ces/?region=ap-southeast-3#/alarms/detail?alarmId=al1715652000000aBcDeFgHiJk",
          data_source: {
            source_type: 1,
            company_name: "Huawei Cloud",
            product_name: "Cloud Eye",
            product_feature: "cpu_util",
            product_module: "SYS.ECS",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
          environment: {
            vendor_type: "HuaweiCloud",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("reads a plain-text alarm message", () => {
    const alerts = normalizeBody(huaweiCloudCesSource, readJsonFixture(PLAIN_TEXT));

    expect(alerts).toStrictEqual([
      {
        source: "huaweicloud-ces",
        scope: "0a1b2c3d4e5f60718293a4b5c6d7e8f9/ap-southeast-3",
        key: "al1715652000000aBcDeFgHiJk/3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
        episode: "",
        status: "firing",
        content: {
          title: "[Major] Cloud Eye alarm ecs-cpu-high-prod triggered on shop-web-03",
          description: "Alarm Name: ecs-cpu-high-prod\nAlarm ID: al1715652000000aBcDeFgHiJk\nAlarm Severity: Major\nAlarm Status: Triggered\nResource: shop-web-03\nResource ID: 3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b\nRegion: ap-southeast-3\nOccurred: 2024/05/14 10:35:12 GMT+08:00\nAlarm Policy: CPU Usage Avg. >= 90% for 3 consecutive periods; current value 96.4%",
          severity: "High",
          first_observed_time: "2024-05-14T02:35:12.000Z",
          last_observed_time: "2024-05-14T02:35:12.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Open",
          resource_list: [
            {
              id: "3f6b8c1e-2d4a-4e6f-9a1b-5c7d9e1f3a5b",
              name: "shop-web-03",
              provider: "huaweicloud",
              region_id: "ap-southeast-3",
              project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            },
          ],
          labels: "status=Triggered",
          source_url: "https://console-intl.huaweicloud.com/ces/?region=ap-southeast-3#/alarms/detail?alarmId=al1715652000000aBcDeFgHiJk",
          data_source: {
            source_type: 1,
            company_name: "Huawei Cloud",
            product_name: "Cloud Eye",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
          environment: {
            vendor_type: "HuaweiCloud",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("skips the SMN subscription confirmation", () => {
    const alerts = normalizeBody(huaweiCloudCesSource, readJsonFixture(CONFIRMATION));

    expect(alerts).toStrictEqual([
      {
        source: "huaweicloud-ces",
        scope: "urn:smn:ap-southeast-3:0a1b2c3d4e5f60718293a4b5c6d7e8f9:ces-alarms-to-bridge",
        key: "smn:SubscriptionConfirmation",
        episode: "54bb04eddfc842e9b44ca36393f77cd3",
        status: "firing",
        skipReason: "SMN subscription confirmation; confirm the subscription in the SMN console",
        content: {
          title: "SMN subscription confirmation for urn:smn:ap-southeast-3:0a1b2c3d4e5f60718293a4b5c6d7e8f9:ces-alarms-to-bridge",
          description: "You are invited to subscribe to topic: urn:smn:ap-southeast-3:0a1b2c3d4e5f60718293a4b5c6d7e8f9:ces-alarms-to-bridge. To confirm this subscription, please visit the subscribe_url included in this message.",
          severity: "Tips",
          handle_status: "Open",
          first_observed_time: "2024-05-14T02:00:05.000Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 1,
            company_name: "Huawei Cloud",
            product_name: "Cloud Eye",
            product_feature: "SMN",
            region_id: "ap-southeast-3",
            project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });
});

describe("huaweiCloudCesSource identity", () => {
  it("pins action_instance_id per fixture", () => {
    const ids = [ALARM, RECOVERY, PLAIN_TEXT, CONFIRMATION].map((file) => idOf(normalizeBody(huaweiCloudCesSource, readJsonFixture(file))[0]));

    expect(ids).toStrictEqual(["81a797d2-7750-51d5-91e0-fcea62339742", "81a797d2-7750-51d5-91e0-fcea62339742", "74da30d5-c3e6-5e34-8700-c415ca3e275d", "ff3abcd1-1afb-541a-8894-0bfb21d8d20a"]);
  });

  it("keeps the id on a repeated notification", () => {
    const repeat = withMessage(ALARM, (message) => {
      message.current_value = "97.9";
      message.time = 1715654412000;
    });
    repeat.message_id = "0f9e8d7c6b5a49382716a5b4c3d2e1f0";

    expect(idOf(normalizeBody(huaweiCloudCesSource, repeat)[0])).toBe("81a797d2-7750-51d5-91e0-fcea62339742");
  });

  it("gives a new alarm record a new id", () => {
    const next = withMessage(ALARM, (message) => {
      message.alarm_record_id = "ah240514T061207QXB7zKRm";
    });

    expect(idOf(normalizeBody(huaweiCloudCesSource, next)[0])).not.toBe("81a797d2-7750-51d5-91e0-fcea62339742");
  });

  it("separates resources of one rule", () => {
    const other = withMessage(ALARM, (message) => {
      message.dimensions = [{ name: "instance_id", value: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" }];
    });

    const [alert] = normalizeBody(huaweiCloudCesSource, other);

    expect(alert?.key).toBe("al1715652000000aBcDeFgHiJk/instance_id=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
  });

  it("accepts a replayed alarm without the SMN envelope", () => {
    const message = JSON.parse(readJsonFixture<{ message: string }>(ALARM).message);

    const [alert] = normalizeBody(huaweiCloudCesSource, message);

    expect(idOf(alert)).toBe("81a797d2-7750-51d5-91e0-fcea62339742");
  });

  it("rejects a message without alarm id", () => {
    const body = withMessage(ALARM, (message) => {
      delete message.alarm_id;
    });

    const error = caught(() => normalizeBody(huaweiCloudCesSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("message.alarm_id");
  });

  it("rejects plain text without alarm id", () => {
    const body: Json = readJsonFixture(PLAIN_TEXT);
    body.message = "CPU usage of shop-web-03 is high";

    const error = caught(() => normalizeBody(huaweiCloudCesSource, body));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
  });
});

describe("huaweiCloudCesSource status and severity", () => {
  it("skips an insufficient-data notification", () => {
    const body = withMessage(ALARM, (message) => {
      message.alarm_status = "insufficient_data";
    });

    const [alert] = normalizeBody(huaweiCloudCesSource, body);

    expect(alert?.skipReason).toBe("Cloud Eye alarm status insufficient_data means the metric has no data; only alarm and ok notifications are handled");
  });

  it("rejects an unknown status with its path", () => {
    const body = withMessage(ALARM, (message) => {
      message.alarm_status = "sleeping";
    });

    const error = caught(() => normalizeBody(huaweiCloudCesSource, body));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("message.alarm_status");
  });

  it.each([
    [1, "Fatal"],
    ["2", "High"],
    [3, "Medium"],
    [4, "Tips"],
    ["Critical", "Fatal"],
    ["Major", "High"],
    ["minor", "Medium"],
    ["Informational", "Tips"],
    ["重要", "High"],
  ])("maps level %s to %s", (level, severity) => {
    expect(cesSeverity(level)).toBe(severity);
  });

  it("reports an unknown level", () => {
    const body = withMessage(ALARM, (message) => {
      message.alarm_level = 7;
    });
    const context = recordingContext(RECEIVED_AT);

    huaweiCloudCesSource.normalize(parsePayload(huaweiCloudCesSource.schema, body, "huaweicloud-ces"), context);

    expect(context.unknownCalls).toStrictEqual([{ field: "message.alarm_level", value: 7 }]);
  });
});

describe("huaweiCloudCesSource helpers", () => {
  it("returns the subscribe_url of a confirmation", () => {
    expect(smnSubscribeUrl(readJsonFixture(CONFIRMATION))).toBe(
      "https://console-intl.huaweicloud.com/smn/subscription/confirm?token=0a419ac94f80f2c62f14c01e34ae5dfcf6b0b92ef46241218eaae5b4cb90d5d4&topic_urn=urn:smn:ap-southeast-3:0a1b2c3d4e5f60718293a4b5c6d7e8f9:ces-alarms-to-bridge&region=ap-southeast-3",
    );
  });

  it("returns no subscribe_url for a notification", () => {
    expect(smnSubscribeUrl(readJsonFixture(ALARM))).toBeUndefined();
  });

  it("reads Chinese labels with full-width colons", () => {
    expect(parseCesText("告警名称：cpu-high\n告警ID：al123；告警状态：已恢复")).toStrictEqual({
      alarm_name: "cpu-high",
      alarm_id: "al123",
      alarm_status: "已恢复",
    });
  });
});

describe("huaweiCloudCesSource schema errors", () => {
  it("names the path inside the JSON message", () => {
    const body = withMessage(ALARM, (message) => {
      message.dimensions = [{ name: "instance_id", value: 7 }];
    });

    const error = caught(() => parsePayload(huaweiCloudCesSource.schema, body, "huaweicloud-ces"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("message.dimensions[0].value");
  });

  it("names the path of an unknown SMN type", () => {
    const body: Json = readJsonFixture(ALARM);
    body.type = "Broadcast";

    const error = caught(() => parsePayload(huaweiCloudCesSource.schema, body, "huaweicloud-ces"));

    expect(error.field).toBe("type");
  });
});

describe("huaweiCloudCesSource properties", () => {
  it("throws only bridge errors on mutated deliveries", () => {
    const message = JSON.parse(readJsonFixture<{ message: string }>(ALARM).message);
    const documents = [ALARM, RECOVERY, PLAIN_TEXT, CONFIRMATION].map((file) => mutatedDocument(readJsonFixture(file)));
    fc.assert(
      fc.property(fc.oneof(...documents, mutatedDocument(message)), (body) => {
        expectOnlyBridgeErrors(huaweiCloudCesSource, body, checkAlerts);
      }),
      { numRuns: 400 },
    );
  });

  it("throws only bridge errors on mutated alarm messages", () => {
    const message = JSON.parse(readJsonFixture<{ message: string }>(ALARM).message);
    const bodies = mutatedDocument(message).map((mutated) => ({ ...readJsonFixture<Json>(ALARM), message: JSON.stringify(mutated) }));
    fc.assert(
      fc.property(bodies, (body) => {
        expectOnlyBridgeErrors(huaweiCloudCesSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });

  it("throws only bridge errors on random deliveries", () => {
    fc.assert(
      fc.property(randomDelivery(["type", "topic_urn", "message", "message_id", "alarm_id", "subscribe_url"]), (body) => {
        expectOnlyBridgeErrors(huaweiCloudCesSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });
});
