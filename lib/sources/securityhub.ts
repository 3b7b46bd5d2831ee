import * as z from "zod";
import type { Alert, AlertResource, Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import {
  AWS_COMPANY_NAME,
  awsDataSource,
  awsEnvironment,
  awsResource,
  awsTags,
  consoleUrl,
  eventBridgeEventSchema,
  parseArn,
  withMissingEnvelopeHint,
  type MissingEnvelope,
} from "./aws";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { compact, formatLabels, isRecord, mergeObjects, nonEmpty, objectOf, portNumber } from "./shapes";
import { awsDeliverySchema, normalizeSnsControl, type AwsDelivery } from "./sns";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "securityhub";
const PRODUCT_NAME = "Security Hub";

/** Returns the schema of one finding in the AWS Security Finding Format, with the fields the adapter reads. */
export const asffFindingSchema = lazily(() => {
  const text = z.string().nullish();
  const integer = z.number().int().nullish();

  const resourceSchema = z.object({
    Type: text,
    Id: text,
    Region: text,
    Tags: objectOf(z.string()).nullish(),
    Details: z
      .object({
        AwsIamAccessKey: z.object({ UserName: text, PrincipalId: text, PrincipalName: text }).nullish(),
        AwsIamUser: z.object({ UserName: text, UserId: text }).nullish(),
      })
      .nullish(),
  });

  return z.object({
    SchemaVersion: text,
    Id: text,
    ProductArn: text,
    ProductName: text,
    CompanyName: text,
    Region: text,
    GeneratorId: text,
    AwsAccountId: text,
    Types: z.array(z.string()).nullish(),
    FirstObservedAt: text,
    LastObservedAt: text,
    CreatedAt: text,
    UpdatedAt: text,
    Severity: z.object({ Label: text, Normalized: z.number().nullish() }).nullish(),
    Confidence: z.number().int().min(0).max(100).nullish(),
    Criticality: z.number().int().min(0).max(100).nullish(),
    Title: text,
    Description: text,
    SourceUrl: text,
    Remediation: z.object({ Recommendation: z.object({ Text: text, Url: text }).nullish() }).nullish(),
    ProductFields: objectOf(z.string()).nullish(),
    Network: z
      .object({
        Direction: text,
        Protocol: text,
        SourceIpV4: text,
        SourceIpV6: text,
        SourcePort: integer,
        SourceDomain: text,
        DestinationIpV4: text,
        DestinationIpV6: text,
        DestinationPort: integer,
        DestinationDomain: text,
      })
      .nullish(),
    Process: z
      .object({ Name: text, Path: text, Pid: integer, ParentPid: integer, LaunchedAt: text, TerminatedAt: text })
      .nullish(),
    Malware: z.array(z.object({ Name: text, Type: text, Path: text })).nullish(),
    Resources: z.array(resourceSchema).nullish(),
    Compliance: z.object({ Status: text, SecurityControlId: text }).nullish(),
    Workflow: z.object({ Status: text }).nullish(),
    RecordState: text,
  });
});
export type AsffFinding = z.infer<ReturnType<typeof asffFindingSchema>>;

/**
 * A `Security Hub Findings - Imported` or `- Custom Action` EventBridge event. Insight results
 * and the OCSF `Findings Imported V2` events have other shapes and are rejected.
 */
export const securityHubEventSchema = lazily(() =>
  withMissingEnvelopeHint(
    eventBridgeEventSchema({
      source: "aws.securityhub",
      detailTypes: ["Security Hub Findings - Imported", "Security Hub Findings - Custom Action"],
      detail: z.object({ findings: z.array(asffFindingSchema()) }),
    }),
    explainBareFindings,
  ),
);
export type SecurityHubEvent = z.infer<ReturnType<typeof securityHubEventSchema>>;

/**
 * Recognises ASFF findings sent without their EventBridge event: one finding, a GetFindings
 * result (`Findings[]`), or the event's `detail` alone (`findings[]`).
 */
function explainBareFindings(body: Record<string, unknown>): MissingEnvelope | undefined {
  const wrapping = 'with "detail-type", "source" and the findings in "detail.findings[]"';
  const event = (findings: string) =>
    `{"detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","detail":{"findings":${findings}}}`;
  const fix = (findings: string) =>
    `send ${event(findings)}, the event that an EventBridge rule or API destination sends; see docs/sources/securityhub.md`;

  if (isAsffFinding(body)) {
    return {
      reason: `this JSON is a bare Security Hub finding in ASFF (SchemaVersion, Id and ProductArn at the top level). A finding must be wrapped in its EventBridge event, ${wrapping}`,
      fix: fix("[<finding>]"),
    };
  }
  if (Array.isArray(body.Findings) && isAsffFinding(body.Findings[0])) {
    return {
      reason: `this JSON is a GetFindings result (Findings[] of ASFF findings). The findings must be wrapped in an EventBridge event, ${wrapping}`,
      fix: fix("<the Findings array>"),
    };
  }
  if (Array.isArray(body.findings) && isAsffFinding(body.findings[0])) {
    return {
      reason: `this JSON is the "detail" of a Security Hub event (findings[] of ASFF findings) without the event around it. The findings must be wrapped in an EventBridge event, ${wrapping}`,
      fix: fix("<the findings array>"),
    };
  }
  return undefined;
}

// Every ASFF finding has these fields, and no EventBridge envelope has them at its top level.
function isAsffFinding(value: unknown): boolean {
  return isRecord(value) && ["SchemaVersion", "Id", "ProductArn"].every((name) => typeof value[name] === "string");
}

/** A Security Hub delivery, in any of the forms `awsDeliverySchema` accepts. */
export const securityHubPayloadSchema = lazily(() =>
  awsDeliverySchema(securityHubEventSchema(), "a Security Hub Findings EventBridge event or an SNS message carrying one"),
);
export type SecurityHubPayload = AwsDelivery<SecurityHubEvent>;

const LABEL_SEVERITY: Readonly<Record<string, Severity>> = {
  INFORMATIONAL: "Tips",
  LOW: "Low",
  MEDIUM: "Medium",
  HIGH: "High",
  CRITICAL: "Fatal",
};

/**
 * Maps an ASFF severity onto SecMaster. `Label` wins; without it, `Normalized` 0 is Tips, 1-39
 * Low, 40-69 Medium, 70-89 High and 90-100 Fatal. Returns undefined for any other value.
 */
export function securityHubSeverity(severity: { Label?: string | null; Normalized?: number | null }): Severity | undefined {
  if (typeof severity.Label === "string") return Object.hasOwn(LABEL_SEVERITY, severity.Label) ? LABEL_SEVERITY[severity.Label] : undefined;
  const score = severity.Normalized;
  if (typeof score !== "number" || !Number.isFinite(score) || score < 0 || score > 100) return undefined;
  if (score >= 90) return "Fatal";
  if (score >= 70) return "High";
  if (score >= 40) return "Medium";
  if (score >= 1) return "Low";
  return "Tips";
}

/** Workflow states that end a finding's life in SecMaster's view. */
const CLOSED_WORKFLOW_STATES = new Set(["RESOLVED", "SUPPRESSED"]);

/**
 * Tells whether a finding is resolved: archived (`RecordState` ARCHIVED), closed by its workflow
 * (RESOLVED or SUPPRESSED) or a passing control check (`Compliance.Status` PASSED).
 */
export function isFindingResolved(finding: Pick<AsffFinding, "RecordState" | "Workflow" | "Compliance">): boolean {
  return (
    finding.RecordState === "ARCHIVED" ||
    CLOSED_WORKFLOW_STATES.has(finding.Workflow?.Status ?? "") ||
    finding.Compliance?.Status === "PASSED"
  );
}

/**
 * The Security Hub source. Every finding of `detail.findings[]` becomes one alert, because the
 * field is an array even where the docs promise one finding per event. Identity: `ProductArn`
 * (scope) and `Id` (key) with an empty episode, because Security Hub sends every update of a
 * finding as a new event and all of them belong to one workflow instance. GuardDuty sample
 * findings and SNS control messages are skipped.
 */
export const securityHubSource = {
  id: SOURCE_ID,
  displayName: "AWS Security Hub",
  get schema() {
    return securityHubPayloadSchema();
  },
  normalize(payload: SecurityHubPayload, context: NormalizeContext): NormalizedAlert[] {
    return payload.messages.flatMap((message) => {
      if (message.kind === "control") {
        return [normalizeSnsControl(message.control, { source: SOURCE_ID, productName: PRODUCT_NAME }, context)];
      }
      const event = message.event;
      return event.detail.findings.map((finding, index) => normalizeFinding(event, finding, index, context));
    });
  },
} satisfies SourceAdapter<SecurityHubPayload>;

function normalizeFinding(event: SecurityHubEvent, finding: AsffFinding, index: number, context: NormalizeContext): NormalizedAlert {
  const path = `detail.findings[${index}]`;
  const productArn = nonEmpty(finding.ProductArn) ?? missingIdentity(SOURCE_ID, `${path}.ProductArn`);
  const findingId = nonEmpty(finding.Id) ?? missingIdentity(SOURCE_ID, `${path}.Id`);
  const account = nonEmpty(finding.AwsAccountId) ?? nonEmpty(event.account);
  const region = nonEmpty(finding.Region) ?? parseArn(productArn)?.region ?? nonEmpty(event.region);
  const resolved = isFindingResolved(finding);

  const content: Alert = compact({
    title: finding.Title ?? `Security Hub finding ${findingId}`,
    description: finding.Description,
    severity: findingSeverity(finding, path, context),
    alert_type: findingType(finding.Types?.[0]),
    first_observed_time: normalizeTime(finding.FirstObservedAt ?? finding.CreatedAt, { field: `${path}.FirstObservedAt` }),
    last_observed_time: normalizeTime(finding.LastObservedAt ?? finding.UpdatedAt, { field: `${path}.LastObservedAt` }),
    create_time: normalizeTime(finding.CreatedAt, { field: `${path}.CreatedAt` }),
    update_time: normalizeTime(finding.UpdatedAt, { field: `${path}.UpdatedAt` }),
    count: occurrenceCount(finding.ProductFields),
    confidence: finding.Confidence,
    criticality: finding.Criticality,
    handle_status: resolved ? "Closed" : "Open",
    remediation: {
      recommendation: finding.Remediation?.Recommendation?.Text,
      url: finding.Remediation?.Recommendation?.Url,
    },
    network_list: findingNetworks(finding.Network),
    resource_list: (finding.Resources ?? []).map((resource) => findingResource(resource, account, region)),
    user_info: findingUsers(finding.Resources),
    process: findingProcesses(finding.Process, path),
    malware: finding.Malware?.[0] ? { malware_family: finding.Malware[0].Name, malware_class: finding.Malware[0].Type } : undefined,
    file_info: (finding.Malware ?? []).filter((malware) => malware.Path).map((malware) => ({ file_path: malware.Path })),
    labels: formatLabels([
      ["RecordState", finding.RecordState],
      ["Workflow", finding.Workflow?.Status],
      ["Compliance", finding.Compliance?.Status],
      ["SecurityControlId", finding.Compliance?.SecurityControlId],
    ]),
    source_url: finding.SourceUrl ?? (region === undefined ? undefined : findingConsoleUrl(region, findingId)),
    data_source: mergeObjects(awsDataSource(PRODUCT_NAME, account, region) ?? {}, {
      company_name: companyName(finding.CompanyName),
      product_name: finding.ProductName ?? PRODUCT_NAME,
      product_feature: PRODUCT_NAME,
      product_module: finding.GeneratorId,
    }),
    environment: awsEnvironment(account, region),
  });

  const alert: NormalizedAlert = {
    source: SOURCE_ID,
    scope: productArn,
    key: findingId,
    episode: "",
    status: resolved ? "resolved" : "firing",
    content,
  };
  if (finding.ProductFields?.[GUARDDUTY_SAMPLE_FIELD] === "true") {
    alert.skipReason = `GuardDuty sample finding (ProductFields "${GUARDDUTY_SAMPLE_FIELD}" is true); sample findings never start a playbook`;
  }
  return alert;
}

// Security Hub copies GuardDuty's service.additionalInfo.sample flag into this product field.
const GUARDDUTY_SAMPLE_FIELD = "aws/guardduty/service/additionalInfo/sample";
const GUARDDUTY_COUNT_FIELD = "aws/guardduty/service/count";

function findingSeverity(finding: AsffFinding, path: string, context: NormalizeContext): Severity {
  const severity = finding.Severity ?? {};
  const mapped = securityHubSeverity(severity);
  if (mapped !== undefined) return mapped;
  return typeof severity.Label === "string"
    ? context.unknownSeverity(`${path}.Severity.Label`, severity.Label)
    : context.unknownSeverity(`${path}.Severity.Normalized`, severity.Normalized);
}

// ASFF types read Namespace/Category/Classifier; the namespace is the broadest grouping.
function findingType(type: string | undefined): Alert["alert_type"] {
  if (type === undefined) return undefined;
  const slash = type.indexOf("/");
  return slash > 0 ? { category: type.slice(0, slash), alert_type: type.slice(slash + 1) } : { category: type, alert_type: type };
}

function occurrenceCount(productFields: Record<string, string> | null | undefined): number | undefined {
  const value = productFields?.[GUARDDUTY_COUNT_FIELD];
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

function companyName(name: string | null | undefined): string {
  // AWS's own products sign their findings as "Amazon" or "AWS".
  if (name === undefined || name === null || name === "Amazon" || name === "AWS") return AWS_COMPANY_NAME;
  return name;
}

function findingNetworks(network: AsffFinding["Network"]): Alert["network_list"] {
  if (!network) return undefined;
  return [
    {
      direction: network.Direction === "IN" || network.Direction === "OUT" ? network.Direction : undefined,
      protocol: network.Protocol ?? undefined,
      src_ip: network.SourceIpV4 ?? network.SourceIpV6 ?? undefined,
      src_port: portNumber(network.SourcePort),
      src_domain: network.SourceDomain ?? undefined,
      dest_ip: network.DestinationIpV4 ?? network.DestinationIpV6 ?? undefined,
      dest_port: portNumber(network.DestinationPort)?.toString(),
      dest_domain: network.DestinationDomain ?? undefined,
    },
  ];
}

type FindingResource = NonNullable<AsffFinding["Resources"]>[number];

function findingResource(resource: FindingResource, account: string | undefined, region: string | undefined): AlertResource {
  const tags = awsTags(resource.Tags);
  const arn = parseArn(resource.Id ?? undefined);
  // The last segment of an ARN's resource part (instance/i-0a1b… -> i-0a1b…) is its short name.
  const shortName = arn?.resource.split(/[/:]/).pop();
  return awsResource({
    id: resource.Id ?? undefined,
    name: tags?.Name ?? shortName,
    type: resource.Type ?? undefined,
    region_id: resource.Region ?? region,
    domain_id: arn?.account || account,
    tags,
  });
}

function findingUsers(resources: FindingResource[] | null | undefined): Alert["user_info"] {
  const users: NonNullable<Alert["user_info"]> = [];
  for (const resource of resources ?? []) {
    const accessKey = resource.Details?.AwsIamAccessKey;
    if (accessKey) users.push({ user_id: accessKey.PrincipalId ?? undefined, user_name: accessKey.PrincipalName ?? accessKey.UserName ?? undefined });
    const user = resource.Details?.AwsIamUser;
    if (user) users.push({ user_id: user.UserId ?? undefined, user_name: user.UserName ?? undefined });
  }
  return users;
}

function findingProcesses(process: AsffFinding["Process"], path: string): Alert["process"] {
  if (!process) return undefined;
  const entry: NonNullable<Alert["process"]>[number] = {
    process_name: process.Name ?? undefined,
    process_path: process.Path ?? undefined,
    process_pid: process.Pid ?? undefined,
    process_parent_pid: process.ParentPid ?? undefined,
    process_launche_time: normalizeTime(process.LaunchedAt, { field: `${path}.Process.LaunchedAt` }),
    process_terminate_time: normalizeTime(process.TerminatedAt, { field: `${path}.Process.TerminatedAt` }),
  };
  return [entry];
}

/**
 * Builds the console link that filters the findings list by `Id`. The console reads the filter
 * from a URL-encoded `search` parameter whose value is URL-encoded a second time.
 */
function findingConsoleUrl(region: string, findingId: string): string {
  const filter = encodeURIComponent(`\\operator\\:EQUALS\\:${findingId}`);
  return consoleUrl(region, "securityhub", `/findings?search=${encodeURIComponent(`Id=${filter}`)}`);
}
