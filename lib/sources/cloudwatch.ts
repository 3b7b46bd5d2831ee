import * as z from "zod";
import { SEVERITIES, type Alert, type AlertResource, type Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { ConfigError } from "../errors";
import { cachedSourceOptions, receivedTime, rememberSourceOptions } from "./common";
import { awsDataSource, awsEnvironment, awsResource, consoleUrl, eventBridgeEventSchema, parseArn } from "./aws";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { byShape, compact, formatLabels, hasKey, objectOf } from "./shapes";
import { awsDeliverySchema, normalizeSnsControl, type AwsDelivery } from "./sns";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "cloudwatch";
const PRODUCT_NAME = "CloudWatch";

/**
 * A CloudWatch alarm reduced to what the adapter reads, whichever form delivered it. `fields`
 * names the identity fields in that form, for error messages.
 */
export interface CloudWatchAlarm {
  /** The form that delivered the alarm: the SNS notification message or the EventBridge event. */
  form: "sns" | "eventbridge";
  name: string | undefined;
  description: string | undefined;
  arn: string | undefined;
  /** ALARM, OK or INSUFFICIENT_DATA. */
  state: string | undefined;
  previousState: string | undefined;
  reason: string | undefined;
  stateChangeTime: string | undefined;
  /** When the previous state began; only EventBridge events carry it. */
  previousStateChangeTime: string | undefined;
  metrics: CloudWatchMetric[];
  fields: { arn: string; stateChangeTime: string };
}

/** One metric the alarm watches, with its dimensions in the order the sender lists them. */
export interface CloudWatchMetric {
  namespace: string | undefined;
  name: string | undefined;
  dimensions: Array<[string, string]>;
}

/**
 * The alarm notification CloudWatch publishes to SNS (the parsed `Message`), also the whole body of
 * an SNS raw-message delivery.
 *
 * @example
 * {"AlarmName":"shop-alb-5xx-high","NewStateValue":"ALARM","StateChangeTime":"2024-05-14T09:31:07.405+0000",
 *  "AlarmArn":"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:shop-alb-5xx-high","Trigger":{…}}
 */
export const cloudWatchSnsAlarmSchema = lazily(() => {
  const text = z.string().nullish();
  const dimensionListSchema = z.array(z.object({ name: z.string(), value: z.string() })).nullish();
  const snsMetricSchema = z.object({
    Namespace: text,
    MetricName: text,
    Dimensions: dimensionListSchema,
  });

  return z.object({
    AlarmName: text,
    AlarmDescription: text,
    AWSAccountId: text,
    NewStateValue: text,
    OldStateValue: text,
    NewStateReason: text,
    StateChangeTime: text,
    Region: text,
    AlarmArn: text,
    Trigger: z
      .object({
        ...snsMetricSchema.shape,
        Metrics: z.array(z.object({ MetricStat: z.object({ Metric: snsMetricSchema.nullish() }).nullish() })).nullish(),
      })
      .nullish(),
  });
});

/** A `CloudWatch Alarm State Change` EventBridge event. */
export const cloudWatchEventBridgeSchema = lazily(() => {
  const text = z.string().nullish();
  const eventBridgeMetricSchema = z.object({
    metricStat: z
      .object({
        metric: z.object({ namespace: text, name: text, dimensions: objectOf(z.string()).nullish() }).nullish(),
      })
      .nullish(),
  });

  return eventBridgeEventSchema({
    source: "aws.cloudwatch",
    detailTypes: ["CloudWatch Alarm State Change"],
    detail: z.object({
      alarmName: text,
      state: z.object({ value: text, reason: text, timestamp: text }).nullish(),
      previousState: z.object({ value: text, timestamp: text }).nullish(),
      configuration: z.object({ description: text, metrics: z.array(eventBridgeMetricSchema).nullish() }).nullish(),
    }),
  });
});

function fromSnsMessage(message: z.infer<ReturnType<typeof cloudWatchSnsAlarmSchema>>): CloudWatchAlarm {
  const trigger = message.Trigger;
  const metrics = [trigger, ...(trigger?.Metrics ?? []).map((item) => item.MetricStat?.Metric)]
    .filter((metric) => metric?.MetricName)
    .map((metric) => ({
      namespace: metric?.Namespace ?? undefined,
      name: metric?.MetricName ?? undefined,
      dimensions: (metric?.Dimensions ?? []).map((dimension): [string, string] => [dimension.name, dimension.value]),
    }));
  return {
    form: "sns",
    name: message.AlarmName ?? undefined,
    description: message.AlarmDescription ?? undefined,
    arn: message.AlarmArn ?? undefined,
    state: message.NewStateValue ?? undefined,
    previousState: message.OldStateValue ?? undefined,
    reason: message.NewStateReason ?? undefined,
    stateChangeTime: message.StateChangeTime ?? undefined,
    previousStateChangeTime: undefined,
    metrics,
    fields: { arn: "AlarmArn", stateChangeTime: "StateChangeTime" },
  };
}

function fromEventBridge(event: z.infer<ReturnType<typeof cloudWatchEventBridgeSchema>>): CloudWatchAlarm {
  const detail = event.detail;
  const metrics = (detail.configuration?.metrics ?? [])
    .map((item) => item.metricStat?.metric)
    .filter((metric) => metric?.name)
    .map((metric) => ({
      namespace: metric?.namespace ?? undefined,
      name: metric?.name ?? undefined,
      dimensions: Object.entries(metric?.dimensions ?? {}),
    }));
  return {
    form: "eventbridge",
    name: detail.alarmName ?? undefined,
    description: detail.configuration?.description ?? undefined,
    arn: event.resources?.[0],
    state: detail.state?.value ?? undefined,
    previousState: detail.previousState?.value ?? undefined,
    reason: detail.state?.reason ?? undefined,
    stateChangeTime: detail.state?.timestamp ?? undefined,
    previousStateChangeTime: detail.previousState?.timestamp ?? undefined,
    metrics,
    fields: { arn: "resources[0]", stateChangeTime: "detail.state.timestamp" },
  };
}

/** A CloudWatch alarm as an EventBridge event or as the SNS notification message. */
export const cloudWatchAlarmSchema = lazily(() =>
  byShape<CloudWatchAlarm>(
    [
      { matches: (value) => hasKey(value, "detail-type"), schema: cloudWatchEventBridgeSchema().transform(fromEventBridge) },
      { matches: (value) => hasKey(value, "AlarmName") || hasKey(value, "AlarmArn"), schema: cloudWatchSnsAlarmSchema().transform(fromSnsMessage) },
    ],
    "a CloudWatch Alarm State Change event or a CloudWatch alarm notification",
  ),
);

/**
 * A CloudWatch delivery: SNS-to-Lambda records, an SNS HTTP(S) body (also a subscription
 * confirmation), an SNS raw-message body, or a `CloudWatch Alarm State Change` EventBridge event.
 */
export const cloudWatchPayloadSchema = lazily(() =>
  awsDeliverySchema(cloudWatchAlarmSchema(), "a CloudWatch alarm notification, an SNS message carrying one, or a CloudWatch Alarm State Change event"),
);
export type CloudWatchPayload = AwsDelivery<CloudWatchAlarm>;

/**
 * Settings of the CloudWatch source, passed as `NormalizeContext.options`. Alarm notifications
 * carry no severity, so it comes from here.
 */
export const cloudWatchOptionsSchema = lazily(() =>
  z.strictObject({
    /**
     * Severity of alarms no other setting matches.
     * @default "Medium"
     */
    defaultSeverity: z.enum(SEVERITIES).default("Medium"),
    /**
     * Severity by alarm name. A key ending in `*` matches names starting with the text before it.
     * An exact name wins over a prefix, and a longer prefix wins over a shorter one.
     * @default {}
     */
    severityByAlarmName: z.record(z.string(), z.enum(SEVERITIES)).default({}),
    /**
     * Handling of a transition into INSUFFICIENT_DATA: `skip` reports it without starting a
     * playbook, and `alert` raises a Tips alert.
     * @default "skip"
     */
    insufficientData: z.enum(["skip", "alert"]).default("skip"),
  }),
);
export type CloudWatchOptions = z.infer<ReturnType<typeof cloudWatchOptionsSchema>>;

/**
 * Returns the configured severity for an alarm name: the exact name, then the longest matching
 * `prefix*` key, then the default.
 */
export function cloudWatchSeverity(alarmName: string, options: CloudWatchOptions): Severity {
  const byName = options.severityByAlarmName;
  if (Object.hasOwn(byName, alarmName)) return byName[alarmName] ?? options.defaultSeverity;

  let best: { length: number; severity: Severity } | undefined;
  for (const [pattern, severity] of Object.entries(byName)) {
    if (!pattern.endsWith("*")) continue;
    const prefix = pattern.slice(0, -1);
    if (alarmName.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = { length: prefix.length, severity };
  }
  return best?.severity ?? options.defaultSeverity;
}

function readOptions(options: unknown): CloudWatchOptions {
  const schema = cloudWatchOptionsSchema();
  const cached = cachedSourceOptions(schema, options);
  if (cached !== undefined) return cached.value;

  const result = schema.safeParse(options ?? {});
  if (result.success) return rememberSourceOptions(schema, options, result.data);
  throw new ConfigError(result.error.issues.map((issue) => `cloudwatch source options ${issue.path.join(".") || "(root)"}: ${issue.message}`));
}

/**
 * The CloudWatch alarm source. Identity: account + region from `AlarmArn` (scope), the ARN (key),
 * and the time the alarm entered ALARM (episode), so the SNS and EventBridge forms of one
 * transition give the same id. An EventBridge OK event resolves the episode that
 * `previousState.timestamp` names. An OK notification through SNS does not name it and is skipped.
 */
export const cloudWatchSource = {
  id: SOURCE_ID,
  displayName: "Amazon CloudWatch alarms",
  get schema() {
    return cloudWatchPayloadSchema();
  },
  get optionsSchema() {
    return cloudWatchOptionsSchema();
  },
  normalize(payload: CloudWatchPayload, context: NormalizeContext): NormalizedAlert[] {
    const options = readOptions(context.options);
    return payload.messages.map((message) =>
      message.kind === "control"
        ? normalizeSnsControl(message.control, { source: SOURCE_ID, productName: PRODUCT_NAME }, context)
        : normalizeAlarm(message.event, options, context),
    );
  },
} satisfies SourceAdapter<CloudWatchPayload>;

function normalizeAlarm(alarm: CloudWatchAlarm, options: CloudWatchOptions, context: NormalizeContext): NormalizedAlert {
  const arn = alarm.arn === undefined || alarm.arn === "" ? missingIdentity(SOURCE_ID, alarm.fields.arn) : alarm.arn;
  const changedAt = normalizeTime(alarm.stateChangeTime, { field: alarm.fields.stateChangeTime }) ?? missingIdentity(SOURCE_ID, alarm.fields.stateChangeTime);
  const arnParts = parseArn(arn);
  const account = arnParts?.account || undefined;
  const region = arnParts?.region || undefined;
  const name = alarm.name ?? arnParts?.resource.replace(/^alarm:/, "") ?? arn;
  const resolved = alarm.state === "OK";

  const { episode, skipReason } = resolved ? closedEpisode(alarm, options) : { episode: changedAt, skipReason: undefined };
  const content: Alert = compact({
    title: name,
    description: [alarm.description, alarm.reason].filter(Boolean).join("\n"),
    severity: alarm.state === "ALARM" ? cloudWatchSeverity(name, options) : "Tips",
    alert_type: { category: alarm.metrics[0]?.namespace, alert_type: alarm.metrics[0]?.name },
    first_observed_time: resolved ? episode || undefined : changedAt,
    last_observed_time: changedAt,
    close_time: resolved ? changedAt : undefined,
    create_time: receivedTime(context),
    handle_status: resolved ? "Closed" : "Open",
    resource_list: alarmResources(alarm, arn, name, account, region),
    labels: formatLabels([
      ["state", alarm.state],
      ["previousState", alarm.previousState],
      ["namespace", alarm.metrics[0]?.namespace],
      ["metric", alarm.metrics[0]?.name],
    ]),
    source_url: region === undefined ? undefined : consoleUrl(region, "cloudwatch", `alarmsV2:alarm/${encodeURIComponent(name)}`),
    data_source: awsDataSource(PRODUCT_NAME, account, region),
    environment: awsEnvironment(account, region),
  });

  const alert: NormalizedAlert = {
    source: SOURCE_ID,
    scope: account !== undefined && region !== undefined ? `${account}/${region}` : "",
    key: arn,
    episode,
    status: resolved ? "resolved" : "firing",
    content,
  };
  if (skipReason !== undefined) {
    alert.skipReason = skipReason;
  } else if (!resolved && !isRaisedState(alarm.state, options)) {
    alert.skipReason = `CloudWatch alarm state ${alarm.state ?? "(missing)"} is neither ALARM nor OK; set insufficientData to "alert" to raise it`;
  }
  return alert;
}

/** Returns whether a transition into `state` raises a firing alert: ALARM, or any state but OK when `insufficientData` is `alert`. */
function isRaisedState(state: string | undefined, options: CloudWatchOptions): boolean {
  return state === "ALARM" || (state !== "OK" && options.insufficientData === "alert");
}

/**
 * Returns the episode an OK transition closes: the normalized start of the previous state, which
 * only the EventBridge event carries. An OK that cannot name the firing alert it closes gets a skip
 * reason whatever the routing. Started under an empty episode, its resolve workflow would have one
 * id for every cycle of the alarm, so only the first cycle's resolve would ever start.
 *
 * @throws InvalidInputError when the event closes a raised state but lacks `previousState.timestamp`.
 */
function closedEpisode(alarm: CloudWatchAlarm, options: CloudWatchOptions): { episode: string; skipReason: string | undefined } {
  if (alarm.form === "sns") {
    // NOTE: the bridge does not close the open episode of the same key from an SNS OK, so without
    // the EventBridge rule no resolve workflow starts for this alarm.
    return { episode: "", skipReason: "CloudWatch OK notifications through SNS carry no alarm start time, so resolve workflows take the EventBridge form of the transition" };
  }
  if (alarm.previousState === undefined) {
    return { episode: "", skipReason: "CloudWatch OK event without previousState.value, so the alert it closes is unknown" };
  }
  if (alarm.previousState === "OK") {
    return { episode: "", skipReason: "CloudWatch OK transition from OK closes no alert" };
  }
  // NOTE: after ALARM, INSUFFICIENT_DATA, OK the event names the INSUFFICIENT_DATA start, so the
  // ALARM episode gets no resolve.
  if (!isRaisedState(alarm.previousState, options)) {
    return { episode: "", skipReason: `CloudWatch OK transition from ${alarm.previousState} closes no alert, because insufficientData is "skip"` };
  }
  const field = "detail.previousState.timestamp";
  const episode = normalizeTime(alarm.previousStateChangeTime, { field }) ?? missingIdentity(SOURCE_ID, field);
  return { episode, skipReason: undefined };
}

// Dimension names that identify a resource, with the ASFF type of that resource.
const RESOURCE_DIMENSIONS: Readonly<Record<string, string>> = {
  InstanceId: "AwsEc2Instance",
  AutoScalingGroupName: "AwsAutoScalingAutoScalingGroup",
  LoadBalancer: "AwsElbv2LoadBalancer",
  LoadBalancerName: "AwsElbLoadBalancer",
  TargetGroup: "AwsElbv2TargetGroup",
  FunctionName: "AwsLambdaFunction",
  DBInstanceIdentifier: "AwsRdsDbInstance",
  DBClusterIdentifier: "AwsRdsDbCluster",
  TableName: "AwsDynamoDbTable",
  QueueName: "AwsSqsQueue",
  TopicName: "AwsSnsTopic",
  BucketName: "AwsS3Bucket",
  ClusterName: "AwsEcsCluster",
  ServiceName: "AwsEcsService",
  ApiName: "AwsApiGatewayRestApi",
  ApiId: "AwsApiGatewayV2Api",
  DistributionId: "AwsCloudFrontDistribution",
  VolumeId: "AwsEc2Volume",
  NatGatewayId: "AwsEc2NatGateway",
};

function alarmResources(alarm: CloudWatchAlarm, arn: string, name: string, account: string | undefined, region: string | undefined): AlertResource[] {
  const where = { region_id: region, domain_id: account };
  const resources: AlertResource[] = [];
  const seen = new Set<string>();
  for (const metric of alarm.metrics) {
    for (const [dimension, value] of metric.dimensions) {
      const type = Object.hasOwn(RESOURCE_DIMENSIONS, dimension) ? RESOURCE_DIMENSIONS[dimension] : undefined;
      if (type === undefined || seen.has(`${dimension}=${value}`)) continue;
      seen.add(`${dimension}=${value}`);
      resources.push(awsResource({ id: value, name: value, type, ...where }));
    }
  }
  resources.push(awsResource({ id: arn, name, type: "AwsCloudWatchAlarm", ...where }));
  return resources;
}
