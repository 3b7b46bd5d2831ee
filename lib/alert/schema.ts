import * as z from "zod";

/** SecMaster severities, lowest first. The spelling is the API's and is compared byte for byte. */
export const SEVERITIES = ["Tips", "Low", "Medium", "High", "Fatal"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const VERIFICATION_STATES = ["Unknown", "True_Positive", "False_Positive"] as const;
export const HANDLE_STATUSES = ["Open", "Block", "Closed"] as const;
/**
 * IPDRR phases. The third value contains a FULL-WIDTH COMMA (U+FF0C) with no space after it, and
 * "&" attached to "Eradication", exactly as both official SDKs spell it.
 */
export const IPDRR_PHASES = [
  "Preparation",
  "Detection and Analysis",
  "Contain\uFF0CEradication& Recovery",
  "Post-Incident-Activity",
] as const;
export const CLOSE_REASONS = ["False detection", "Resolved", "Repeated", "Other"] as const;
export const NETWORK_DIRECTIONS = ["IN", "OUT"] as const;

/** `data_source.source_type`: 1 cloud product, 2 third-party product, 3 tenant-private product. */
export const SOURCE_TYPE = { cloudProduct: 1, thirdParty: 2, tenantPrivate: 3 } as const;

// Shared by many fields: zod schemas are immutable, and each one built costs cold start time.
const optionalString = z.string().optional();
const optionalInteger = z.number().int().optional();

const geoSchema = z.object({
  latitude: z.number().optional(),
  longitude: z.number().optional(),
  city_code: optionalString,
  country_code: optionalString,
});

export const networkSchema = z.object({
  direction: z.enum(NETWORK_DIRECTIONS).optional(),
  protocol: optionalString,
  src_ip: optionalString,
  // The SDKs type src_port as an integer but dest_port as a string.
  src_port: z.number().int().min(0).max(65535).optional(),
  src_domain: optionalString,
  src_geo: geoSchema.optional(),
  dest_ip: optionalString,
  dest_port: optionalString,
  dest_domain: optionalString,
  dest_geo: geoSchema.optional(),
});

export const resourceSchema = z.object({
  id: optionalString,
  name: optionalString,
  type: optionalString,
  provider: optionalString,
  region_id: optionalString,
  domain_id: optionalString,
  project_id: optionalString,
  ep_id: optionalString,
  ep_name: optionalString,
  tags: z.record(z.string(), z.string()).optional(),
});

export const processSchema = z.object({
  process_name: optionalString,
  process_path: optionalString,
  process_pid: optionalInteger,
  process_uid: optionalInteger,
  process_cmdline: optionalString,
  process_parent_name: optionalString,
  process_parent_path: optionalString,
  process_parent_pid: optionalInteger,
  process_parent_uid: optionalInteger,
  process_parent_cmdline: optionalString,
  process_child_name: optionalString,
  process_child_path: optionalString,
  process_child_pid: optionalInteger,
  process_child_uid: optionalInteger,
  process_child_cmdline: optionalString,
  // "launche" is the API's own spelling.
  process_launche_time: optionalString,
  process_terminate_time: optionalString,
});

export const userInfoSchema = z.object({
  user_id: optionalString,
  user_name: optionalString,
});

export const fileInfoSchema = z.object({
  file_path: optionalString,
  file_content: optionalString,
  file_new_path: optionalString,
  file_hash: optionalString,
  file_md5: optionalString,
  file_sha256: optionalString,
  file_attr: optionalString,
});

export const dataSourceSchema = z.object({
  source_type: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  domain_id: optionalString,
  project_id: optionalString,
  region_id: optionalString,
  company_name: optionalString,
  product_name: optionalString,
  product_feature: optionalString,
  product_module: optionalString,
});

export const environmentSchema = z.object({
  vendor_type: optionalString,
  domain_id: optionalString,
  region_id: optionalString,
  project_id: z.string().nullable().optional(),
});

/**
 * The SecMaster Alert data class as sent in `playbook_context.data_object.content`.
 * Every field is optional in the API; times are ISO 8601 strings with a zone.
 */
export const alertSchema = z.strictObject({
  version: optionalString,
  id: z.string().max(36).optional(),
  domain_id: optionalString,
  region_id: optionalString,
  workspace_id: optionalString,
  labels: optionalString,
  environment: environmentSchema.optional(),
  data_source: dataSourceSchema.optional(),
  first_observed_time: optionalString,
  last_observed_time: optionalString,
  create_time: optionalString,
  arrive_time: optionalString,
  update_time: optionalString,
  close_time: optionalString,
  sla: optionalString,
  title: optionalString,
  description: optionalString,
  source_url: optionalString,
  count: z.number().int().min(0).optional(),
  confidence: z.number().int().min(0).max(100).optional(),
  severity: z.enum(SEVERITIES).optional(),
  criticality: z.number().int().min(0).max(100).optional(),
  alert_type: z.object({ category: optionalString, alert_type: optionalString }).optional(),
  remediation: z.object({ recommendation: optionalString, url: optionalString }).optional(),
  network_list: z.array(networkSchema).optional(),
  resource_list: z.array(resourceSchema).optional(),
  verification_state: z.enum(VERIFICATION_STATES).optional(),
  handle_status: z.enum(HANDLE_STATUSES).optional(),
  ipdrr_phase: z.enum(IPDRR_PHASES).optional(),
  simulation: optionalString,
  actor: optionalString,
  owner: optionalString,
  creator: optionalString,
  close_reason: z.enum(CLOSE_REASONS).optional(),
  close_comment: optionalString,
  malware: z.object({ malware_family: optionalString, malware_class: optionalString }).optional(),
  process: z.array(processSchema).optional(),
  user_info: z.array(userInfoSchema).optional(),
  file_info: z.array(fileInfoSchema).optional(),
  system_info: z.record(z.string(), z.unknown()).optional(),
  system_alert_table: z.record(z.string(), z.unknown()).optional(),
});

/** Content map of one SecMaster Alert. */
export type Alert = z.infer<typeof alertSchema>;
export type AlertNetwork = z.infer<typeof networkSchema>;
export type AlertResource = z.infer<typeof resourceSchema>;
