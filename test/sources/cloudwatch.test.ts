 
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema } from "../../lib/alert/schema";
import { planDelivery, type DefaultTarget } from "../../lib/ingest";
import { compileRoutingFile } from "../../lib/routing/compile";
import { cloudWatchOptionsSchema, cloudWatchSeverity, cloudWatchSource } from "../../lib/sources/cloudwatch";
import { parsePayload } from "../../lib/sources/parse";
import type { SourceAdapter } from "../../lib/sources/types";
import { readJsonFixture } from "../helpers/fixtures";
import { caught, checkAlerts, expectOnlyBridgeErrors, idOf, mutatedDocument, normalizeBody, randomDelivery } from "./delivery-fuzz";

// The tests edit fixture JSON in place, so fixture values are typed loosely.
 
type Json = any;

const EVENTBRIDGE = "payloads/cloudwatch-eventbridge-alarm.json";
const SNS_HTTP = "payloads/cloudwatch-sns-http-alarm.json";
const SNS_LAMBDA = "payloads/cloudwatch-sns-lambda-alarm.json";
const CONFIRMATION = "payloads/cloudwatch-sns-http-subscription-confirmation.json";
const EVENTBRIDGE_OK = "cloudwatch/eventbridge-ok.json";
const SNS_HTTP_OK = "cloudwatch/sns-http-ok.json";

const ALARM_ID = "ff376ce9-e269-59e6-a524-c70ff5bfc93b";
const SNS_OK_SKIP_REASON = "CloudWatch OK notifications through SNS carry no alarm start time, so resolve workflows take the EventBridge form of the transition";

function snsMessageOf(file: string): Json {
  return JSON.parse(readJsonFixture<{ Message: string }>(file).Message);
}

describe("cloudWatchSource golden content", () => {
  it("normalizes the EventBridge alarm", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(EVENTBRIDGE));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "111122223333/eu-west-1",
        key: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
        episode: "2024-05-14T09:31:07.405Z",
        status: "firing",
        content: {
          title: "shop-alb-5xx-high",
          description: "5xx responses from the shop load balancer above threshold\nThreshold Crossed: 1 out of the last 1 datapoints [57.0 (14/05/24 09:26:00)] was greater than the threshold (25.0) (minimum 1 datapoint for OK -> ALARM transition).",
          severity: "Medium",
          alert_type: {
            category: "AWS/ApplicationELB",
            alert_type: "HTTPCode_Target_5XX_Count",
          },
          first_observed_time: "2024-05-14T09:31:07.405Z",
          last_observed_time: "2024-05-14T09:31:07.405Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Open",
          resource_list: [
            {
              id: "app/shop-alb/50dc6c495c0c9188",
              name: "app/shop-alb/50dc6c495c0c9188",
              type: "AwsElbv2LoadBalancer",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
            {
              id: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
              name: "shop-alb-5xx-high",
              type: "AwsCloudWatchAlarm",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "state=ALARM,previousState=OK,namespace=AWS/ApplicationELB,metric=HTTPCode_Target_5XX_Count",
          source_url: "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/shop-alb-5xx-high",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            domain_id: "111122223333",
            region_id: "eu-west-1",
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

  it("normalizes the SNS HTTP alarm to the same content", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(SNS_HTTP));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "111122223333/eu-west-1",
        key: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
        episode: "2024-05-14T09:31:07.405Z",
        status: "firing",
        content: {
          title: "shop-alb-5xx-high",
          description: "5xx responses from the shop load balancer above threshold\nThreshold Crossed: 1 out of the last 1 datapoints [57.0 (14/05/24 09:26:00)] was greater than the threshold (25.0) (minimum 1 datapoint for OK -> ALARM transition).",
          severity: "Medium",
          alert_type: {
            category: "AWS/ApplicationELB",
            alert_type: "HTTPCode_Target_5XX_Count",
          },
          first_observed_time: "2024-05-14T09:31:07.405Z",
          last_observed_time: "2024-05-14T09:31:07.405Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Open",
          resource_list: [
            {
              id: "app/shop-alb/50dc6c495c0c9188",
              name: "app/shop-alb/50dc6c495c0c9188",
              type: "AwsElbv2LoadBalancer",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
            {
              id: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
              name: "shop-alb-5xx-high",
              type: "AwsCloudWatchAlarm",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "state=ALARM,previousState=OK,namespace=AWS/ApplicationELB,metric=HTTPCode_Target_5XX_Count",
          source_url: "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/shop-alb-5xx-high",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
  });

  it("normalizes the SNS Lambda alarm to the same content", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(SNS_LAMBDA));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "111122223333/eu-west-1",
        key: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
        episode: "2024-05-14T09:31:07.405Z",
        status: "firing",
        content: {
          title: "shop-alb-5xx-high",
          description: "5xx responses from the shop load balancer above threshold\nThreshold Crossed: 1 out of the last 1 datapoints [57.0 (14/05/24 09:26:00)] was greater than the threshold (25.0) (minimum 1 datapoint for OK -> ALARM transition).",
          severity: "Medium",
          alert_type: {
            category: "AWS/ApplicationELB",
            alert_type: "HTTPCode_Target_5XX_Count",
          },
          first_observed_time: "2024-05-14T09:31:07.405Z",
          last_observed_time: "2024-05-14T09:31:07.405Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Open",
          resource_list: [
            {
              id: "app/shop-alb/50dc6c495c0c9188",
              name: "app/shop-alb/50dc6c495c0c9188",
              type: "AwsElbv2LoadBalancer",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
            {
              id: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
              name: "shop-alb-5xx-high",
              type: "AwsCloudWatchAlarm",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "state=ALARM,previousState=OK,namespace=AWS/ApplicationELB,metric=HTTPCode_Target_5XX_Count",
          source_url: "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/shop-alb-5xx-high",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
          environment: {
            vendor_type: "AWS",
            domain_id: "111122223333",
            region_id: "eu-west-1",
          },
        },
      },
    ]);
  });

  it("skips the SNS subscription confirmation", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(CONFIRMATION));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "arn:aws:sns:eu-west-1:111122223333:ops-alarms",
        key: "sns:SubscriptionConfirmation",
        episode: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        status: "firing",
        skipReason: "SNS subscription confirmation; the bridge requests its link when the source's AUTO_CONFIRM setting is true, otherwise confirm it in the SNS console",
        content: {
          title: "SNS subscription confirmation for arn:aws:sns:eu-west-1:111122223333:ops-alarms",
          description: "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:111122223333:ops-alarms.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
          severity: "Tips",
          handle_status: "Open",
          first_observed_time: "2024-05-14T08:00:01.004Z",
          create_time: "2024-05-14T16:00:00.000Z",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            product_feature: "SNS",
          },
        },
      },
    ]);
    expect(alertSchema.safeParse(alerts[0]?.content).success).toBe(true);
  });

  it("resolves the episode on an EventBridge OK", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(EVENTBRIDGE_OK));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "111122223333/eu-west-1",
        key: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
        episode: "2024-05-14T09:31:07.405Z",
        status: "resolved",
        content: {
          title: "shop-alb-5xx-high",
          description: "5xx responses from the shop load balancer above threshold\nThreshold Crossed: 1 out of the last 1 datapoints [3.0 (14/05/24 09:41:00)] was not greater than the threshold (25.0) (minimum 1 datapoint for ALARM -> OK transition).",
          severity: "Tips",
          alert_type: {
            category: "AWS/ApplicationELB",
            alert_type: "HTTPCode_Target_5XX_Count",
          },
          first_observed_time: "2024-05-14T09:31:07.405Z",
          last_observed_time: "2024-05-14T09:46:07.398Z",
          close_time: "2024-05-14T09:46:07.398Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Closed",
          resource_list: [
            {
              id: "app/shop-alb/50dc6c495c0c9188",
              name: "app/shop-alb/50dc6c495c0c9188",
              type: "AwsElbv2LoadBalancer",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
            {
              id: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
              name: "shop-alb-5xx-high",
              type: "AwsCloudWatchAlarm",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "state=OK,previousState=ALARM,namespace=AWS/ApplicationELB,metric=HTTPCode_Target_5XX_Count",
          source_url: "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/shop-alb-5xx-high",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            domain_id: "111122223333",
            region_id: "eu-west-1",
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

  it("skips an SNS OK with an empty episode", () => {
    const alerts = normalizeBody(cloudWatchSource, readJsonFixture(SNS_HTTP_OK));

    expect(alerts).toStrictEqual([
      {
        source: "cloudwatch",
        scope: "111122223333/eu-west-1",
        key: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
        episode: "",
        status: "resolved",
        skipReason: SNS_OK_SKIP_REASON,
        content: {
          title: "shop-alb-5xx-high",
          description: "5xx responses from the shop load balancer above threshold\nThreshold Crossed: 1 out of the last 1 datapoints [3.0 (14/05/24 09:41:00)] was not greater than the threshold (25.0) (minimum 1 datapoint for ALARM -> OK transition).",
          severity: "Tips",
          alert_type: {
            category: "AWS/ApplicationELB",
            alert_type: "HTTPCode_Target_5XX_Count",
          },
          last_observed_time: "2024-05-14T09:46:07.398Z",
          close_time: "2024-05-14T09:46:07.398Z",
          create_time: "2024-05-14T16:00:00.000Z",
          handle_status: "Closed",
          resource_list: [
            {
              id: "app/shop-alb/50dc6c495c0c9188",
              name: "app/shop-alb/50dc6c495c0c9188",
              type: "AwsElbv2LoadBalancer",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
            {
              id: "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high",
              name: "shop-alb-5xx-high",
              type: "AwsCloudWatchAlarm",
              region_id: "eu-west-1",
              domain_id: "111122223333",
              provider: "aws",
            },
          ],
          labels: "state=OK,previousState=ALARM,namespace=AWS/ApplicationELB,metric=HTTPCode_Target_5XX_Count",
          source_url: "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/shop-alb-5xx-high",
          data_source: {
            source_type: 2,
            company_name: "Amazon Web Services",
            product_name: "CloudWatch",
            domain_id: "111122223333",
            region_id: "eu-west-1",
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

describe("cloudWatchSource identity", () => {
  it("pins action_instance_id per fixture", () => {
    const files = [EVENTBRIDGE, SNS_HTTP, SNS_LAMBDA, CONFIRMATION, EVENTBRIDGE_OK, SNS_HTTP_OK];

    const ids = files.map((file) => idOf(normalizeBody(cloudWatchSource, readJsonFixture(file))[0]));

    expect(ids).toStrictEqual(["ff376ce9-e269-59e6-a524-c70ff5bfc93b", "ff376ce9-e269-59e6-a524-c70ff5bfc93b", "ff376ce9-e269-59e6-a524-c70ff5bfc93b", "fe187972-61fe-540e-9939-f2e5e4f1daa6", "ff376ce9-e269-59e6-a524-c70ff5bfc93b", "9e55526c-5fc2-5f7e-9bb6-bcdc8f5032b8"]);
  });

  it("keeps the id on an SNS redelivery", () => {
    const redelivery: Json = readJsonFixture(SNS_LAMBDA);
    redelivery.Records[0].Sns.Timestamp = "2024-05-14T09:33:07.512Z";

    expect(idOf(normalizeBody(cloudWatchSource, redelivery)[0])).toBe(ALARM_ID);
  });

  it("gives a new ALARM transition a new id", () => {
    const next: Json = readJsonFixture(EVENTBRIDGE);
    next.detail.state.timestamp = "2024-05-14T11:02:45.118+0000";

    const [alert] = normalizeBody(cloudWatchSource, next);

    expect(alert?.episode).toBe("2024-05-14T11:02:45.118Z");
    expect(idOf(alert)).not.toBe(ALARM_ID);
  });

  it("accepts a raw-message SNS delivery", () => {
    const alerts = normalizeBody(cloudWatchSource, snsMessageOf(SNS_HTTP));

    expect(alerts.map(idOf)).toStrictEqual([ALARM_ID]);
  });

  it("accepts an alarm event forwarded through SNS", () => {
    const body = { ...readJsonFixture<Json>(SNS_HTTP), Message: JSON.stringify(readJsonFixture(EVENTBRIDGE)) };

    expect(normalizeBody(cloudWatchSource, body).map(idOf)).toStrictEqual([ALARM_ID]);
  });

  it("rejects an alarm without AlarmArn", () => {
    const message = snsMessageOf(SNS_HTTP);
    delete message.AlarmArn;

    const error = caught(() => normalizeBody(cloudWatchSource, message));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("AlarmArn");
  });

  it("rejects an event without state timestamp", () => {
    const event: Json = readJsonFixture(EVENTBRIDGE);
    delete event.detail.state.timestamp;

    const error = caught(() => normalizeBody(cloudWatchSource, event));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("detail.state.timestamp");
  });
});

// A routing file with a resolve rule for CloudWatch. Firing alerts go to the default target.
const TARGET: DefaultTarget = {
  projectId: "0000000000000000000000000000c001",
  workspaceId: "11111111-2222-4333-8444-555555555555",
  workflowId: "00000000-0000-4000-8000-00000000c0f1",
  dataclass: { name: "Alert" },
};
const RESOLVE_WORKFLOW = "aaaaaaaa-0000-4000-8000-00000000c0e1";
const RESOLVE_ROUTES = compileRoutingFile(
  {
    version: 1,
    rules: [
      {
        name: "close-cloudwatch",
        match: { source: "cloudwatch", status: "resolved" },
        targets: [{ workspace_id: TARGET.workspaceId, workflow_id: RESOLVE_WORKFLOW }],
      },
    ],
  },
  { origin: "inline", defaultTarget: TARGET },
);

function planWithResolveRule(body: unknown, options?: unknown) {
  const request = { adapter: cloudWatchSource as SourceAdapter<unknown>, body, receivedAt: new Date("2024-05-14T16:00:00Z"), options };
  return planDelivery(request, { target: TARGET, routes: RESOLVE_ROUTES, defaultSeverity: "Medium" });
}

/** Returns the EventBridge OK fixture for the ALARM cycle from `alarmAt` to `okAt`. */
function eventBridgeOk(alarmAt: string, okAt: string): Json {
  const event: Json = readJsonFixture(EVENTBRIDGE_OK);
  event.detail.previousState.timestamp = alarmAt;
  event.detail.state.timestamp = okAt;
  return event;
}

/** Returns the SNS HTTP OK fixture with another `StateChangeTime`. */
function snsOk(okAt: string): Json {
  const body: Json = readJsonFixture(SNS_HTTP_OK);
  const message = JSON.parse(body.Message);
  message.StateChangeTime = okAt;
  body.Message = JSON.stringify(message);
  return body;
}

describe("cloudWatchSource resolve routing", () => {
  it("skips an SNS OK despite a resolve rule", () => {
    const bodies = [readJsonFixture(SNS_HTTP_OK), snsMessageOf(SNS_HTTP_OK), snsOk("2024-05-20T08:27:30.011+0000")];

    for (const body of bodies) {
      const plans = planWithResolveRule(body);

      expect(plans).toHaveLength(1);
      expect(plans[0]?.skipReason).toBe(SNS_OK_SKIP_REASON);
      expect(plans[0]?.rule).toBeUndefined();
    }
  });

  it("starts one resolve per cycle from both forms", () => {
    const plans = [...planWithResolveRule(readJsonFixture(SNS_HTTP_OK)), ...planWithResolveRule(readJsonFixture(EVENTBRIDGE_OK))];

    const started = plans.filter((plan) => plan.skipReason === undefined);

    expect(started).toHaveLength(1);
    expect(started[0]?.rule).toBe("close-cloudwatch");
    expect(started[0]?.job.workflowId).toBe(RESOLVE_WORKFLOW);
    expect(started[0]?.job.identity?.episode).toBe("2024-05-14T09:31:07.405Z");
  });

  it("gives each EventBridge OK cycle its own id", () => {
    const first = planWithResolveRule(readJsonFixture(EVENTBRIDGE_OK));
    const second = planWithResolveRule(eventBridgeOk("2024-05-20T08:12:30.004+0000", "2024-05-20T08:27:30.011+0000"));

    expect(first[0]?.skipReason).toBeUndefined();
    expect(second[0]?.skipReason).toBeUndefined();
    expect(second[0]?.job.identity?.episode).toBe("2024-05-20T08:12:30.004Z");
    expect(second[0]?.job.actionInstanceId).not.toBe(first[0]?.job.actionInstanceId);
  });

  it("gives an EventBridge OK the episode of its ALARM", () => {
    const alarm: Json = readJsonFixture(EVENTBRIDGE);
    alarm.detail.state.timestamp = "2024-05-20T08:12:30.004+0000";

    const [firing] = normalizeBody(cloudWatchSource, alarm);
    const [resolved] = normalizeBody(cloudWatchSource, eventBridgeOk("2024-05-20T08:12:30.004+0000", "2024-05-20T08:27:30.011+0000"));

    expect(resolved?.episode).toBe(firing?.episode);
    expect(resolved?.key).toBe(firing?.key);
    expect(resolved?.scope).toBe(firing?.scope);
  });

  it("skips an EventBridge OK after INSUFFICIENT_DATA", () => {
    const event = eventBridgeOk("2024-05-20T08:12:30.004+0000", "2024-05-20T08:27:30.011+0000");
    event.detail.previousState.value = "INSUFFICIENT_DATA";

    const plans = planWithResolveRule(event);

    expect(plans).toHaveLength(1);
    expect(plans[0]?.skipReason).toBe('CloudWatch OK transition from INSUFFICIENT_DATA closes no alert, because insufficientData is "skip"');
  });

  it("skips an EventBridge OK without previousState", () => {
    const event: Json = readJsonFixture(EVENTBRIDGE_OK);
    delete event.detail.previousState;

    const plans = planWithResolveRule(event, { insufficientData: "alert" });

    expect(plans).toHaveLength(1);
    expect(plans[0]?.skipReason).toBe("CloudWatch OK event without previousState.value, so the alert it closes is unknown");
  });

  it("resolves INSUFFICIENT_DATA cycles when raised", () => {
    const cycles = [
      eventBridgeOk("2024-05-14T09:31:07.405+0000", "2024-05-14T09:46:07.398+0000"),
      eventBridgeOk("2024-05-20T08:12:30.004+0000", "2024-05-20T08:27:30.011+0000"),
    ];
    for (const event of cycles) event.detail.previousState.value = "INSUFFICIENT_DATA";

    const plans = cycles.map((event) => planWithResolveRule(event, { insufficientData: "alert" })[0]);

    expect(plans.map((plan) => plan?.skipReason)).toStrictEqual([undefined, undefined]);
    expect(plans.map((plan) => plan?.job.identity?.episode)).toStrictEqual(["2024-05-14T09:31:07.405Z", "2024-05-20T08:12:30.004Z"]);
    expect(plans[1]?.job.actionInstanceId).not.toBe(plans[0]?.job.actionInstanceId);
  });

  it("rejects an EventBridge OK without previousState.timestamp", () => {
    const event: Json = readJsonFixture(EVENTBRIDGE_OK);
    delete event.detail.previousState.timestamp;

    const error = caught(() => normalizeBody(cloudWatchSource, event));

    expect(error.code).toBe("BRIDGE.IDENTITY_MISSING");
    expect(error.field).toBe("detail.previousState.timestamp");
  });

  it("gives SNS and EventBridge ALARM the same id", () => {
    for (const alarmAt of ["2024-05-14T09:31:07.405+0000", "2024-05-20T08:12:30.004+0000"]) {
      const event: Json = readJsonFixture(EVENTBRIDGE);
      event.detail.state.timestamp = alarmAt;
      const message = snsMessageOf(SNS_HTTP);
      message.StateChangeTime = alarmAt;
      const lambda: Json = readJsonFixture(SNS_LAMBDA);
      lambda.Records[0].Sns.Message = JSON.stringify(message);
      const http: Json = { ...readJsonFixture<Json>(SNS_HTTP), Message: JSON.stringify(message) };

      const ids = [event, message, lambda, http].map((body) => planWithResolveRule(body)[0]?.job.actionInstanceId);

      expect(new Set(ids).size).toBe(1);
      expect(ids[0]).toBeDefined();
    }
  });
});

describe("cloudWatchSource states and severity", () => {
  it("skips INSUFFICIENT_DATA by default", () => {
    const message = snsMessageOf(SNS_HTTP);
    message.NewStateValue = "INSUFFICIENT_DATA";

    const [alert] = normalizeBody(cloudWatchSource, message);

    expect(alert?.skipReason).toBe('CloudWatch alarm state INSUFFICIENT_DATA is neither ALARM nor OK; set insufficientData to "alert" to raise it');
    expect(alert?.content.severity).toBe("Tips");
  });

  it("raises INSUFFICIENT_DATA when configured", () => {
    const message = snsMessageOf(SNS_HTTP);
    message.NewStateValue = "INSUFFICIENT_DATA";

    const [alert] = normalizeBody(cloudWatchSource, message, { insufficientData: "alert" });

    expect(alert?.skipReason).toBeUndefined();
    expect(alert?.status).toBe("firing");
  });

  it("takes the severity from the alarm name", () => {
    const options = { severityByAlarmName: { "shop-*": "High", "shop-alb-*": "Fatal" } };

    const [alert] = normalizeBody(cloudWatchSource, readJsonFixture(EVENTBRIDGE), options);

    expect(alert?.content.severity).toBe("Fatal");
  });

  it.each([
    ["db-disk-full", "Fatal"],
    ["shop-alb-latency", "High"],
    ["shop-db", "Medium"],
    ["other", "Low"],
  ])("maps alarm %s to %s", (name, severity) => {
    const options = cloudWatchOptionsSchema().parse({
      defaultSeverity: "Low",
      severityByAlarmName: { "db-disk-full": "Fatal", "shop-alb-*": "High", "shop-*": "Medium" },
    });

    expect(cloudWatchSeverity(name, options)).toBe(severity);
  });

  it("rejects invalid options as configuration errors", () => {
    const error = caught(() => normalizeBody(cloudWatchSource, readJsonFixture(EVENTBRIDGE), { defaultSeverity: "Critical" }));

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
  });
});

describe("cloudWatchSource schema errors", () => {
  it("names the path inside the SNS Lambda message", () => {
    const event: Json = readJsonFixture(SNS_LAMBDA);
    const message = JSON.parse(event.Records[0].Sns.Message);
    message.Trigger.Dimensions = [{ name: "LoadBalancer" }];
    event.Records[0].Sns.Message = JSON.stringify(message);

    const error = caught(() => parsePayload(cloudWatchSource.schema, event, "cloudwatch"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("Records[0].Sns.Message.Trigger.Dimensions[0].value");
  });

  it("names the path of an unknown SNS type", () => {
    const body: Json = readJsonFixture(SNS_HTTP);
    body.Type = "Announcement";

    const error = caught(() => parsePayload(cloudWatchSource.schema, body, "cloudwatch"));

    expect(error.field).toBe("Type");
  });

  it("rejects a body of unknown shape", () => {
    const error = caught(() => parsePayload(cloudWatchSource.schema, { hello: "world" }, "cloudwatch"));

    expect(error.code).toBe("BRIDGE.PAYLOAD_INVALID");
    expect(error.field).toBe("(body)");
  });
});

describe("cloudWatchSource properties", () => {
  it("throws only bridge errors on mutated deliveries", () => {
    const documents = [EVENTBRIDGE, EVENTBRIDGE_OK, CONFIRMATION].map((file) => mutatedDocument(readJsonFixture(file)));
    fc.assert(
      fc.property(fc.oneof(...documents, mutatedDocument(snsMessageOf(SNS_HTTP))), (body) => {
        expectOnlyBridgeErrors(cloudWatchSource, body, checkAlerts);
      }),
      { numRuns: 400 },
    );
  });

  it("throws only bridge errors on random deliveries", () => {
    fc.assert(
      fc.property(randomDelivery(["Records", "Type", "TopicArn", "Message", "MessageId", "detail-type", "AlarmName", "AlarmArn"]), (body) => {
        expectOnlyBridgeErrors(cloudWatchSource, body, checkAlerts);
      }),
      { numRuns: 300 },
    );
  });
});
