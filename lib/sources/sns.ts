import * as z from "zod";
import { SOURCE_TYPE, type Alert } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { receivedTime } from "./common";
import { lazily } from "../lazy";
import { byShape, compact, hasKey, isRecord, jsonString } from "./shapes";
import type { NormalizeContext, NormalizedAlert } from "./types";

/** SNS message types that manage the subscription instead of carrying a notification. */
export const SNS_CONTROL_TYPES = ["SubscriptionConfirmation", "UnsubscribeConfirmation"] as const;

/** A subscription confirmation or unsubscribe confirmation, in the field names of the HTTP body. */
export interface SnsControlMessage {
  Type: (typeof SNS_CONTROL_TYPES)[number];
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp?: string | undefined;
  SubscribeURL?: string | undefined;
}

/**
 * One message of an AWS delivery after the SNS layer (if any) is removed: either the event the
 * adapter handles, or an SNS control message that must not start a playbook.
 */
export type AwsMessage<Event> =
  | { kind: "event"; event: Event; snsMessageId?: string | undefined }
  | { kind: "control"; control: SnsControlMessage };

/** A parsed AWS delivery: the messages of one HTTP body or one Lambda event, in order. */
export interface AwsDelivery<Event> {
  messages: Array<AwsMessage<Event>>;
}

const controlFields = lazily(() => ({
  Type: z.enum(SNS_CONTROL_TYPES),
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  Timestamp: z.string().optional(),
  SubscribeURL: z.string().optional(),
}));

function notificationFields<Event>(event: z.ZodType<Event>) {
  return {
    Type: z.literal("Notification"),
    MessageId: z.string(),
    TopicArn: z.string(),
    Subject: z.string().nullish(),
    Message: jsonString(event),
    Timestamp: z.string().optional(),
  };
}

function fromNotification<Event>(message: { MessageId: string; Message: Event }): AwsMessage<Event> {
  return { kind: "event", event: message.Message, snsMessageId: message.MessageId };
}

/**
 * Builds the schema of the body SNS posts to an HTTP(S) subscription. Signature fields are checked by the inbound
 * authentication step on the raw bytes, so they are not kept here.
 */
function snsHttpBodySchema<Event>(event: z.ZodType<Event>): z.ZodType<AwsDelivery<Event>> {
  return z
    .discriminatedUnion("Type", [
      z.object(notificationFields(event)).transform((message) => fromNotification(message)),
      z.object(controlFields()).transform((control): AwsMessage<Event> => ({ kind: "control", control })),
    ])
    .transform((message) => ({ messages: [message] }));
}

/**
 * Builds the schema of the event SNS passes to a subscribed Lambda function. SNS confirms Lambda subscriptions itself,
 * so every record is a notification.
 */
function snsLambdaEventSchema<Event>(event: z.ZodType<Event>): z.ZodType<AwsDelivery<Event>> {
  const record = z.object({
    EventSource: z.literal("aws:sns").optional(),
    Sns: z.object(notificationFields(event)),
  });
  return z
    .object({ Records: z.array(record).min(1) })
    .transform((lambdaEvent) => ({ messages: lambdaEvent.Records.map((item) => fromNotification(item.Sns)) }));
}

/**
 * Accepts every way an AWS event reaches the bridge and reduces it to {@link AwsDelivery}:
 *
 * - an SNS-to-Lambda event (`{"Records":[{"Sns":{…}}]}`), one message per record;
 * - an SNS HTTP(S) body (`{"Type":"Notification","Message":"<JSON>",…}`), or a
 *   `SubscriptionConfirmation`/`UnsubscribeConfirmation`;
 * - anything else is the event itself: an EventBridge event from an API destination or a Lambda
 *   target, a replay of a saved event, or an SNS raw-message delivery.
 *
 * `event` validates the event in every case, including inside the SNS `Message` string.
 */
export function awsDeliverySchema<Event>(event: z.ZodType<Event>, expected: string): z.ZodType<AwsDelivery<Event>> {
  return byShape<AwsDelivery<Event>>(
    [
      { matches: (value) => hasKey(value, "Records"), schema: snsLambdaEventSchema(event) },
      { matches: (value) => hasKey(value, "Type") && hasKey(value, "TopicArn"), schema: snsHttpBodySchema(event) },
      {
        matches: () => true,
        schema: event.transform((parsed): AwsDelivery<Event> => ({ messages: [{ kind: "event", event: parsed }] })),
      },
    ],
    expected,
  );
}

/**
 * Returns the `SubscribeURL` of an SNS HTTP(S) `SubscriptionConfirmation` body, or undefined for
 * any other value.
 *
 * The URL is returned as sent. The caller must verify the message signature and that the URL
 * points at an SNS endpoint of the expected region before it requests the URL.
 */
export function snsSubscribeUrl(body: unknown): string | undefined {
  if (!isRecord(body) || body.Type !== "SubscriptionConfirmation") return undefined;
  const url = body.SubscribeURL;
  return typeof url === "string" && url !== "" ? url : undefined;
}

/** Product fields of the skipped alert built from an SNS control message. */
export interface ControlAlertOptions {
  source: string;
  productName: string;
}

/**
 * Turns an SNS control message into a skipped alert, so the delivery is reported instead of
 * dropped and never starts a playbook. Redeliveries of the same message keep the same identity
 * (topic ARN, message type and message id).
 */
export function normalizeSnsControl(
  control: SnsControlMessage,
  options: ControlAlertOptions,
  context: NormalizeContext,
): NormalizedAlert {
  const confirming = control.Type === "SubscriptionConfirmation";
  const skipReason = confirming
    ? "SNS subscription confirmation; the bridge requests its link when the source's AUTO_CONFIRM setting is true, otherwise confirm it in the SNS console"
    : "SNS unsubscribe confirmation; the topic no longer sends to this endpoint";
  const content: Alert = compact({
    title: `${confirming ? "SNS subscription confirmation" : "SNS unsubscribe confirmation"} for ${control.TopicArn}`,
    description: control.Message,
    severity: "Tips",
    handle_status: "Open",
    first_observed_time: normalizeTime(control.Timestamp, { field: "Timestamp" }),
    create_time: receivedTime(context),
    data_source: {
      source_type: SOURCE_TYPE.thirdParty,
      company_name: "Amazon Web Services",
      product_name: options.productName,
      product_feature: "SNS",
    },
  });
  return {
    source: options.source,
    scope: control.TopicArn,
    key: `sns:${control.Type}`,
    episode: control.MessageId,
    status: "firing",
    skipReason,
    content,
  };
}
