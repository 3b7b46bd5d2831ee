import * as z from "zod";
import { SOURCE_TYPE, type Alert, type AlertResource } from "../alert/schema";
import { forwardIssues, hasKey, isRecord, mergeObjects } from "./shapes";

/** `data_source.company_name` of every AWS source. */
export const AWS_COMPANY_NAME = "Amazon Web Services";

/** `environment.vendor_type` of alerts raised in an AWS account. */
export const AWS_VENDOR_TYPE = "AWS";

/** `resource_list[].provider` of AWS resources. */
export const AWS_PROVIDER = "aws";

/**
 * Builds the schema of the EventBridge envelope around one event, with `detail` checked by the
 * caller's schema. EventBridge adds `replay-name` to events replayed from an archive, and the
 * schema accepts and ignores it.
 *
 * @example
 * {"version":"0","id":"9c6a…","detail-type":"GuardDuty Finding","source":"aws.guardduty",
 *  "account":"111122223333","time":"2024-05-14T08:20:31Z","region":"eu-west-1","resources":[],"detail":{…}}
 */
export function eventBridgeEventSchema<Detail, DetailType extends string>(options: {
  source: string;
  detailTypes: readonly [DetailType, ...DetailType[]];
  detail: z.ZodType<Detail>;
}) {
  return z.object({
    version: z.string().optional(),
    id: z.string().optional(),
    "detail-type": z.enum(options.detailTypes),
    source: z.literal(options.source),
    account: z.string().optional(),
    time: z.string().optional(),
    region: z.string().optional(),
    resources: z.array(z.string()).optional(),
    "replay-name": z.string().optional(),
    detail: options.detail,
  });
}

/** Reason and fix for a body that is the bare `detail` of an EventBridge event. */
export interface MissingEnvelope {
  /** Reason, written after `missing, because` in the error message. */
  reason: string;
  /** Body to send instead, as the error's `fix`. */
  fix: string;
}

/**
 * Wraps the schema of an EventBridge event so that a body without `detail-type` that looks like
 * the bare `detail` fails with an error naming the missing envelope. Such a body is typically a
 * finding copied from the console or the AWS CLI. The error stays at the field `detail-type`.
 * Every other invalid body gets the issues of `event`.
 *
 * @param explain Returns the reason and fix for a body that is the bare detail, else undefined.
 *   It runs only on a body that failed `event`.
 */
export function withMissingEnvelopeHint<T>(
  event: z.ZodType<T>,
  explain: (body: Record<string, unknown>) => MissingEnvelope | undefined,
): z.ZodType<T> {
  return z.unknown().transform((value, context): T => {
    const result = event.safeParse(value);
    if (result.success) return result.data;

    const missing = isRecord(value) && !hasKey(value, "detail-type") ? explain(value) : undefined;
    if (missing === undefined) {
      forwardIssues(result.error.issues, context, value);
      return z.NEVER;
    }
    context.issues.push({
      code: "custom",
      path: ["detail-type"],
      message: `missing, because ${missing.reason}`,
      params: { fix: missing.fix },
      input: value,
    });
    return z.NEVER;
  });
}

/** The parts of an Amazon Resource Name. */
export interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** Splits an ARN (`arn:aws:cloudwatch:eu-west-1:111122223333:alarm:x`); undefined when it is not one. */
export function parseArn(arn: string | undefined): ArnParts | undefined {
  if (arn === undefined) return undefined;
  const match = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn);
  if (match === null) return undefined;
  const [, partition = "", service = "", region = "", account = "", resource = ""] = match;
  return { partition, service, region, account, resource };
}

/**
 * Returns the console origin of a region, such as `https://eu-west-1.console.aws.amazon.com`.
 * China regions (`cn-*`) and GovCloud regions (`us-gov-*`) live under their own domains.
 */
export function consoleOrigin(region: string): string {
  if (region.startsWith("cn-")) return `https://${region}.console.amazonaws.cn`;
  if (region.startsWith("us-gov-")) return `https://${region}.console.amazonaws-us-gov.com`;
  return `https://${region}.console.aws.amazon.com`;
}

/** Builds the console link of a service page in a region, such as `/guardduty/home?region=…#/findings`. */
export function consoleUrl(region: string, service: string, fragment: string): string {
  const encodedRegion = encodeURIComponent(region);
  return `${consoleOrigin(region)}/${service}/home?region=${encodedRegion}#${fragment}`;
}

/** Builds the `data_source` of an AWS product in the account and region the alert comes from. */
export function awsDataSource(productName: string, account: string | undefined, region: string | undefined): Alert["data_source"] {
  return {
    source_type: SOURCE_TYPE.thirdParty,
    company_name: AWS_COMPANY_NAME,
    product_name: productName,
    domain_id: account,
    region_id: region,
  };
}

/** Builds the `environment` of an alert raised in an AWS account and region. */
export function awsEnvironment(account: string | undefined, region: string | undefined): Alert["environment"] {
  return { vendor_type: AWS_VENDOR_TYPE, domain_id: account, region_id: region };
}

/** Builds an AWS entry of `resource_list`; callers pass the account as `domain_id`. */
export function awsResource(fields: Omit<AlertResource, "provider">): AlertResource {
  return mergeObjects(fields, { provider: AWS_PROVIDER });
}

/**
 * Converts AWS tag lists (`[{"key":"Name","value":"web"}]`, either casing) or tag maps into the
 * `tags` map of a resource, keeping at most the 50 pairs SecMaster stores.
 */
export function awsTags(tags: unknown): Record<string, string> | undefined {
  const pairs: Array<[string, string]> = [];
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (!isRecord(tag)) continue;
      const key = tag.key ?? tag.Key;
      const value = tag.value ?? tag.Value;
      if (typeof key === "string" && typeof value === "string") pairs.push([key, value]);
    }
  } else if (isRecord(tags)) {
    for (const [key, value] of Object.entries(tags)) {
      if (typeof value === "string") pairs.push([key, value]);
    }
  }
  return pairs.length === 0 ? undefined : Object.fromEntries(pairs.slice(0, MAX_RESOURCE_TAGS));
}

const MAX_RESOURCE_TAGS = 50;

/** Ids of the adapters that handle events of AWS services. */
export type AwsSourceId = "guardduty" | "securityhub" | "cloudwatch";

const SOURCE_BY_EVENT_SOURCE: Readonly<Record<string, AwsSourceId>> = {
  "aws.guardduty": "guardduty",
  "aws.securityhub": "securityhub",
  "aws.cloudwatch": "cloudwatch",
};

/**
 * Tells which adapter handles an event that AWS passed to a Lambda function: an EventBridge
 * event of GuardDuty, Security Hub or CloudWatch, or an SNS event whose messages carry such
 * events or CloudWatch alarm notifications. Returns the event unchanged as `payload`, ready for
 * the adapter's schema, or undefined when no adapter handles it (including SNS events whose
 * records belong to different adapters).
 */
export function adapterForAwsEvent(event: unknown): { source: AwsSourceId; payload: unknown } | undefined {
  if (!isRecord(event)) return undefined;

  if (Array.isArray(event.Records)) {
    const sources = new Set(event.Records.map(sourceOfSnsRecord));
    const [only] = sources;
    if (sources.size !== 1 || only === undefined) return undefined;
    return { source: only, payload: event };
  }

  const source = sourceOfEvent(event);
  return source === undefined ? undefined : { source, payload: event };
}

function sourceOfEvent(event: Record<string, unknown>): AwsSourceId | undefined {
  if (typeof event.source === "string" && typeof event["detail-type"] === "string") {
    return Object.hasOwn(SOURCE_BY_EVENT_SOURCE, event.source) ? SOURCE_BY_EVENT_SOURCE[event.source] : undefined;
  }
  // A CloudWatch alarm notification as SNS publishes it.
  if (typeof event.AlarmName === "string" && typeof event.NewStateValue === "string") return "cloudwatch";
  return undefined;
}

function sourceOfSnsRecord(record: unknown): AwsSourceId | undefined {
  if (!isRecord(record) || record.EventSource !== "aws:sns" || !isRecord(record.Sns)) return undefined;
  const message = record.Sns.Message;
  if (typeof message !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    return isRecord(parsed) ? sourceOfEvent(parsed) : undefined;
  } catch {
    return undefined;
  }
}
