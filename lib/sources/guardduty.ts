import * as z from "zod";
import type { Alert, AlertNetwork, AlertResource, Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { awsDataSource, awsEnvironment, awsResource, awsTags, consoleUrl, eventBridgeEventSchema, withMissingEnvelopeHint, type MissingEnvelope } from "./aws";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { compact, formatLabels, isRecord, nonEmpty, portNumber } from "./shapes";
import { awsDeliverySchema, normalizeSnsControl, type AwsDelivery } from "./sns";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "guardduty";
const PRODUCT_NAME = "GuardDuty";

/** Zod types of the optional, nullable fields a finding is made of, built once per finding schema. */
interface FieldTypes {
  text: z.ZodOptional<z.ZodNullable<z.ZodString>>;
  integer: z.ZodOptional<z.ZodNullable<z.ZodNumber>>;
}

function remoteIpDetailsSchema({ text }: FieldTypes) {
  return z.object({
    ipAddressV4: text,
    ipAddressV6: text,
    country: z.object({ countryCode: text, countryName: text }).nullish(),
    city: z.object({ cityName: text }).nullish(),
    geoLocation: z.object({ lat: z.number().nullish(), lon: z.number().nullish() }).nullish(),
  });
}

function actionSchema(types: FieldTypes) {
  const { text, integer } = types;
  const remoteIpDetails = remoteIpDetailsSchema(types);
  const localIpDetailsSchema = z.object({ ipAddressV4: text, ipAddressV6: text });
  const portDetailsSchema = z.object({ port: integer, portName: text });

  return z.object({
    actionType: text,
    networkConnectionAction: z
      .object({
        connectionDirection: text,
        protocol: text,
        remoteIpDetails: remoteIpDetails.nullish(),
        remotePortDetails: portDetailsSchema.nullish(),
        localIpDetails: localIpDetailsSchema.nullish(),
        localPortDetails: portDetailsSchema.nullish(),
      })
      .nullish(),
    portProbeAction: z
      .object({
        portProbeDetails: z
          .array(
            z.object({
              localPortDetails: portDetailsSchema.nullish(),
              localIpDetails: localIpDetailsSchema.nullish(),
              remoteIpDetails: remoteIpDetails.nullish(),
            }),
          )
          .nullish(),
      })
      .nullish(),
    awsApiCallAction: z
      .object({ api: text, serviceName: text, remoteIpDetails: remoteIpDetails.nullish() })
      .nullish(),
    dnsRequestAction: z.object({ domain: text, protocol: text }).nullish(),
    kubernetesApiCallAction: z.object({ remoteIpDetails: remoteIpDetails.nullish() }).nullish(),
  });
}

function resourceSchema({ text }: FieldTypes) {
  const tagListSchema = z.array(z.object({ key: text, value: text })).nullish();

  return z.object({
    resourceType: text,
    instanceDetails: z
      .object({
        instanceId: text,
        instanceType: text,
        tags: tagListSchema,
      })
      .nullish(),
    accessKeyDetails: z
      .object({ accessKeyId: text, principalId: text, userName: text, userType: text })
      .nullish(),
    s3BucketDetails: z.array(z.object({ arn: text, name: text, type: text, tags: tagListSchema })).nullish(),
    eksClusterDetails: z.object({ name: text, arn: text, tags: tagListSchema }).nullish(),
    lambdaDetails: z.object({ functionArn: text, functionName: text, tags: tagListSchema }).nullish(),
    rdsDbInstanceDetails: z.object({ dbInstanceIdentifier: text, dbInstanceArn: text, tags: tagListSchema }).nullish(),
  });
}

function serviceSchema(types: FieldTypes) {
  const { text, integer } = types;
  const threatNameSchema = z.object({
    name: text,
    filePaths: z.array(z.object({ filePath: text, fileName: text, hash: text })).nullish(),
  });

  return z.object({
    action: actionSchema(types).nullish(),
    resourceRole: text,
    additionalInfo: z.object({ sample: z.union([z.boolean(), z.string()]).nullish() }).nullish(),
    eventFirstSeen: text,
    eventLastSeen: text,
    archived: z.boolean().nullish(),
    count: z.number().int().min(0).nullish(),
    runtimeDetails: z
      .object({
        process: z
          .object({
            name: text,
            executablePath: text,
            executableSha256: text,
            pid: integer,
            uid: integer,
            startTime: text,
          })
          .nullish(),
      })
      .nullish(),
    ebsVolumeScanDetails: z
      .object({
        scanDetections: z
          .object({
            threatDetectedByName: z.object({ threatNames: z.array(threatNameSchema).nullish() }).nullish(),
          })
          .nullish(),
      })
      .nullish(),
  });
}

/** A GuardDuty finding, the `detail` of a `GuardDuty Finding` event (fields the adapter reads). */
export const guardDutyFindingSchema = lazily(() => {
  const types: FieldTypes = { text: z.string().nullish(), integer: z.number().int().nullish() };
  const { text } = types;
  return z.object({
    schemaVersion: text,
    accountId: text,
    region: text,
    partition: text,
    id: text,
    arn: text,
    type: text,
    resource: resourceSchema(types).nullish(),
    service: serviceSchema(types).nullish(),
    severity: z.number().nullish(),
    createdAt: text,
    updatedAt: text,
    title: text,
    description: text,
  });
});
export type GuardDutyFinding = z.infer<ReturnType<typeof guardDutyFindingSchema>>;

/** A `GuardDuty Finding` EventBridge event. A bare finding is rejected with the envelope to add. */
export const guardDutyEventSchema = lazily(() =>
  withMissingEnvelopeHint(
    eventBridgeEventSchema({
      source: "aws.guardduty",
      detailTypes: ["GuardDuty Finding"],
      detail: guardDutyFindingSchema(),
    }),
    explainBareFinding,
  ),
);
export type GuardDutyEvent = z.infer<ReturnType<typeof guardDutyEventSchema>>;

const ENVELOPE_EXAMPLE = '{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":<finding>}';

/**
 * Recognises a GuardDuty finding sent without its EventBridge event, or a `findings` list of
 * them as GetFindings returns it. The API and the event name the fields in camelCase
 * (`schemaVersion`, `id`, `type`, `severity`), while the AWS CLI prints them in PascalCase.
 */
function explainBareFinding(body: Record<string, unknown>): MissingEnvelope | undefined {
  const listKey = ["findings", "Findings"].find((key) => Array.isArray(body[key]));
  const sample: unknown = listKey === undefined ? body : (body[listKey] as unknown[])[0];
  const naming = isRecord(sample) ? fieldNaming(sample) : undefined;
  if (naming === undefined) return undefined;

  let reason =
    listKey === undefined
      ? `this JSON is a bare GuardDuty finding (${naming.fields} at the top level). A finding must be wrapped in its EventBridge event, with "detail-type", "source" and the finding as "detail"`
      : `this JSON is a list of GuardDuty findings (${listKey}[], as GetFindings returns it). Each finding must be wrapped in its own EventBridge event, with "detail-type", "source" and the finding as "detail"`;
  if (naming.pascalCase) {
    reason += ". The bridge reads the camelCase field names of the event (id, type, severity), not the PascalCase names that the AWS CLI prints";
  }
  return {
    reason,
    fix: `send each finding as ${ENVELOPE_EXAMPLE}, the event that an EventBridge rule or API destination sends; see docs/sources/guardduty.md`,
  };
}

// Returns the field names that mark a GuardDuty finding, in the spelling the value uses.
function fieldNaming(value: Record<string, unknown>): { fields: string; pascalCase: boolean } | undefined {
  const isFinding = (names: readonly string[], severity: string) =>
    names.every((name) => typeof value[name] === "string") && typeof value[severity] === "number";
  if (isFinding(["schemaVersion", "id", "type"], "severity")) return { fields: "schemaVersion, id, type and severity", pascalCase: false };
  if (isFinding(["SchemaVersion", "Id", "Type"], "Severity")) return { fields: "SchemaVersion, Id, Type and Severity", pascalCase: true };
  return undefined;
}

/**
 * A GuardDuty delivery: the EventBridge event as an API destination or a Lambda target sends it,
 * that event inside an SNS HTTP(S) body or SNS-to-Lambda records, or a replayed saved event.
 */
export const guardDutyPayloadSchema = lazily(() =>
  awsDeliverySchema(guardDutyEventSchema(), "a GuardDuty Finding EventBridge event or an SNS message carrying one"),
);
export type GuardDutyPayload = AwsDelivery<GuardDutyEvent>;

/**
 * Maps GuardDuty's 0.1-10 score onto SecMaster: 9.0 and above (attack sequences) Fatal, 7.0-8.9
 * High, 4.0-6.9 Medium, 1.0-3.9 Low, below 1 Tips. Returns undefined outside 0-10.
 */
export function guardDutySeverity(score: number): Severity | undefined {
  if (!Number.isFinite(score) || score < 0 || score > 10) return undefined;
  if (score >= 9) return "Fatal";
  if (score >= 7) return "High";
  if (score >= 4) return "Medium";
  if (score >= 1) return "Low";
  return "Tips";
}

/**
 * The GuardDuty source. Identity: account + region (scope) and finding id (key) with an empty
 * episode, because GuardDuty updates a recurring finding in place (`service.count` grows) and every
 * update must reach the same workflow instance. Archived findings resolve it. Sample findings
 * (`service.additionalInfo.sample`) and SNS control messages are skipped.
 */
export const guardDutySource = {
  id: SOURCE_ID,
  displayName: "Amazon GuardDuty",
  get schema() {
    return guardDutyPayloadSchema();
  },
  normalize(payload: GuardDutyPayload, context: NormalizeContext): NormalizedAlert[] {
    return payload.messages.map((message) =>
      message.kind === "control"
        ? normalizeSnsControl(message.control, { source: SOURCE_ID, productName: PRODUCT_NAME }, context)
        : normalizeFinding(message.event, context),
    );
  },
} satisfies SourceAdapter<GuardDutyPayload>;

function normalizeFinding(event: GuardDutyEvent, context: NormalizeContext): NormalizedAlert {
  const finding = event.detail;
  const account = nonEmpty(finding.accountId) ?? nonEmpty(event.account) ?? missingIdentity(SOURCE_ID, "detail.accountId");
  const region = nonEmpty(finding.region) ?? nonEmpty(event.region) ?? missingIdentity(SOURCE_ID, "detail.region");
  const findingId = nonEmpty(finding.id) ?? missingIdentity(SOURCE_ID, "detail.id");
  const service = finding.service;
  const archived = service?.archived === true;
  const sample = service?.additionalInfo?.sample === true || service?.additionalInfo?.sample === "true";

  const content: Alert = compact({
    title: finding.title ?? finding.type ?? `GuardDuty finding ${findingId}`,
    description: finding.description ?? undefined,
    severity: findingSeverity(finding.severity, context),
    alert_type: findingType(finding.type),
    first_observed_time: normalizeTime(service?.eventFirstSeen, { field: "detail.service.eventFirstSeen" }),
    last_observed_time: normalizeTime(service?.eventLastSeen, { field: "detail.service.eventLastSeen" }),
    create_time: normalizeTime(finding.createdAt, { field: "detail.createdAt" }),
    update_time: normalizeTime(finding.updatedAt, { field: "detail.updatedAt" }),
    count: service?.count,
    handle_status: archived ? "Closed" : "Open",
    network_list: findingNetworks(service?.action),
    resource_list: findingResources(finding.resource, account, region),
    user_info: findingUsers(finding.resource),
    process: findingProcesses(service),
    file_info: findingFiles(service),
    malware: findingMalware(service),
    labels: formatLabels([
      ["resourceType", finding.resource?.resourceType],
      ["actionType", service?.action?.actionType],
      ["resourceRole", service?.resourceRole],
    ]),
    source_url: consoleUrl(region, "guardduty", `/findings?macros=current&fId=${encodeURIComponent(findingId)}`),
    data_source: awsDataSource(PRODUCT_NAME, account, region),
    environment: awsEnvironment(account, region),
  });

  const alert: NormalizedAlert = {
    source: SOURCE_ID,
    scope: `${account}/${region}`,
    key: findingId,
    episode: "",
    status: archived ? "resolved" : "firing",
    content,
  };
  if (sample) alert.skipReason = "GuardDuty sample finding (service.additionalInfo.sample is true); sample findings never start a playbook";
  return alert;
}

function findingSeverity(score: number | null | undefined, context: NormalizeContext): Severity {
  const severity = typeof score === "number" ? guardDutySeverity(score) : undefined;
  return severity ?? context.unknownSeverity("detail.severity", score);
}

// Finding types read ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact.
function findingType(type: string | null | undefined): Alert["alert_type"] {
  if (type === undefined || type === null) return undefined;
  const colon = type.indexOf(":");
  return { category: colon > 0 ? type.slice(0, colon) : undefined, alert_type: type };
}

type RemoteIpDetails = z.infer<ReturnType<typeof remoteIpDetailsSchema>>;
type Action = z.infer<ReturnType<typeof actionSchema>>;

function remoteAddress(details: RemoteIpDetails | null | undefined): string | undefined {
  return details?.ipAddressV4 ?? details?.ipAddressV6 ?? undefined;
}

// GuardDuty reports an unknown location as 0/0, which SecMaster would drop anyway.
function remoteGeo(details: RemoteIpDetails | null | undefined): AlertNetwork["src_geo"] {
  const lat = details?.geoLocation?.lat ?? undefined;
  const lon = details?.geoLocation?.lon ?? undefined;
  const hasLocation = lat !== undefined && lon !== undefined && (lat !== 0 || lon !== 0);
  const countryCode = details?.country?.countryCode ?? undefined;
  if (!hasLocation && countryCode === undefined) return undefined;
  return { latitude: hasLocation ? lat : undefined, longitude: hasLocation ? lon : undefined, country_code: countryCode };
}

function portText(port: number | null | undefined): string | undefined {
  const checked = portNumber(port);
  return checked === undefined ? undefined : String(checked);
}

function findingNetworks(action: Action | null | undefined): AlertNetwork[] {
  const networks: AlertNetwork[] = [];
  const connection = action?.networkConnectionAction;
  if (connection) {
    const remote = {
      ip: remoteAddress(connection.remoteIpDetails),
      port: connection.remotePortDetails?.port,
      geo: remoteGeo(connection.remoteIpDetails),
    };
    const local = {
      ip: connection.localIpDetails?.ipAddressV4 ?? connection.localIpDetails?.ipAddressV6 ?? undefined,
      port: connection.localPortDetails?.port,
    };
    const outbound = connection.connectionDirection === "OUTBOUND";
    const inbound = connection.connectionDirection === "INBOUND";
    let direction: "IN" | "OUT" | undefined;
    if (outbound) direction = "OUT";
    else if (inbound) direction = "IN";
    const [source, destination] = outbound ? [local, remote] : [remote, local];
    networks.push({
      direction,
      protocol: connection.protocol ?? undefined,
      src_ip: source.ip,
      src_port: portNumber(source.port),
      src_geo: outbound ? undefined : remote.geo,
      dest_ip: destination.ip,
      dest_port: portText(destination.port),
      dest_geo: outbound ? remote.geo : undefined,
    });
  }

  for (const probe of action?.portProbeAction?.portProbeDetails ?? []) {
    networks.push({
      direction: "IN",
      src_ip: remoteAddress(probe.remoteIpDetails),
      src_geo: remoteGeo(probe.remoteIpDetails),
      dest_ip: probe.localIpDetails?.ipAddressV4 ?? probe.localIpDetails?.ipAddressV6 ?? undefined,
      dest_port: portText(probe.localPortDetails?.port),
    });
  }

  const apiCall = action?.awsApiCallAction;
  if (apiCall && remoteAddress(apiCall.remoteIpDetails) !== undefined) {
    networks.push({
      direction: "IN",
      src_ip: remoteAddress(apiCall.remoteIpDetails),
      src_geo: remoteGeo(apiCall.remoteIpDetails),
      dest_domain: apiCall.serviceName ?? undefined,
    });
  }

  const kubernetesCall = action?.kubernetesApiCallAction;
  if (kubernetesCall && remoteAddress(kubernetesCall.remoteIpDetails) !== undefined) {
    networks.push({
      direction: "IN",
      src_ip: remoteAddress(kubernetesCall.remoteIpDetails),
      src_geo: remoteGeo(kubernetesCall.remoteIpDetails),
    });
  }

  const dns = action?.dnsRequestAction;
  if (dns?.domain) networks.push({ direction: "OUT", protocol: dns.protocol ?? "DNS", dest_domain: dns.domain });
  return networks;
}

type FindingResource = z.infer<ReturnType<typeof resourceSchema>>;

function findingResources(resource: FindingResource | null | undefined, account: string, region: string): AlertResource[] {
  const resources: AlertResource[] = [];
  const where = { region_id: region, domain_id: account };

  const instance = resource?.instanceDetails;
  if (instance?.instanceId) {
    const tags = awsTags(instance.tags);
    resources.push(awsResource({ id: instance.instanceId, name: tags?.Name ?? instance.instanceId, type: "AwsEc2Instance", ...where, tags }));
  }

  const accessKey = resource?.accessKeyDetails;
  if (accessKey?.accessKeyId) {
    resources.push(awsResource({ id: accessKey.accessKeyId, name: accessKey.userName ?? undefined, type: "AwsIamAccessKey", ...where }));
  }

  for (const bucket of resource?.s3BucketDetails ?? []) {
    resources.push(awsResource({ id: bucket.arn ?? bucket.name ?? undefined, name: bucket.name ?? undefined, type: "AwsS3Bucket", ...where, tags: awsTags(bucket.tags) }));
  }

  const cluster = resource?.eksClusterDetails;
  if (cluster) resources.push(awsResource({ id: cluster.arn ?? undefined, name: cluster.name ?? undefined, type: "AwsEksCluster", ...where, tags: awsTags(cluster.tags) }));

  const lambda = resource?.lambdaDetails;
  if (lambda) resources.push(awsResource({ id: lambda.functionArn ?? undefined, name: lambda.functionName ?? undefined, type: "AwsLambdaFunction", ...where, tags: awsTags(lambda.tags) }));

  const database = resource?.rdsDbInstanceDetails;
  if (database) {
    resources.push(awsResource({ id: database.dbInstanceArn ?? undefined, name: database.dbInstanceIdentifier ?? undefined, type: "AwsRdsDbInstance", ...where, tags: awsTags(database.tags) }));
  }
  return resources;
}

function findingUsers(resource: FindingResource | null | undefined): Alert["user_info"] {
  const accessKey = resource?.accessKeyDetails;
  if (!accessKey || (!accessKey.userName && !accessKey.principalId)) return undefined;
  return [{ user_id: accessKey.principalId ?? undefined, user_name: accessKey.userName ?? undefined }];
}

type FindingService = z.infer<ReturnType<typeof serviceSchema>>;

function findingProcesses(service: FindingService | null | undefined): Alert["process"] {
  const process = service?.runtimeDetails?.process;
  if (!process) return undefined;
  return [
    {
      process_name: process.name ?? undefined,
      process_path: process.executablePath ?? undefined,
      process_pid: process.pid ?? undefined,
      process_uid: process.uid ?? undefined,
      process_launche_time: normalizeTime(process.startTime, { field: "detail.service.runtimeDetails.process.startTime" }),
    },
  ];
}

function threatNames(service: FindingService | null | undefined) {
  return service?.ebsVolumeScanDetails?.scanDetections?.threatDetectedByName?.threatNames ?? [];
}

function findingFiles(service: FindingService | null | undefined): Alert["file_info"] {
  const files: NonNullable<Alert["file_info"]> = [];
  const process = service?.runtimeDetails?.process;
  if (process?.executablePath && process.executableSha256) {
    files.push({ file_path: process.executablePath, file_sha256: process.executableSha256 });
  }
  for (const threat of threatNames(service)) {
    for (const file of threat.filePaths ?? []) {
      files.push({ file_path: file.filePath ?? file.fileName ?? undefined, file_sha256: file.hash ?? undefined });
    }
  }
  return files;
}

function findingMalware(service: FindingService | null | undefined): Alert["malware"] {
  const name = threatNames(service).find((threat) => threat.name)?.name;
  return name ? { malware_family: name } : undefined;
}
