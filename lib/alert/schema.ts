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

const geoSchema = z.object({
  latitude: z.number().optional(),
  longitude: z.number().optional(),
  city_code: z.string().optional(),
  country_code: z.string().optional(),
});

export const networkSchema = z.object({
  direction: z.enum(NETWORK_DIRECTIONS).optional(),
  protocol: z.string().optional(),
  src_ip: z.string().optional(),
  // The SDKs type src_port as an integer but dest_port as a string.
  src_port: z.number().int().min(0).max(65535).optional(),
  src_domain: z.string().optional(),
  src_geo: geoSchema.optional(),
  dest_ip: z.string().optional(),
  dest_port: z.string().optional(),
  dest_domain: z.string().optional(),
  dest_geo: geoSchema.optional(),
});

export const resourceSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  provider: z.string().optional(),
  region_id: z.string().optional(),
  domain_id: z.string().optional(),
  project_id: z.string().optional(),
  ep_id: z.string().optional(),
  ep_name: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

export const processSchema = z.object({
  process_name: z.string().optional(),
  process_path: z.string().optional(),
  process_pid: z.number().int().optional(),
  process_uid: z.number().int().optional(),
  process_cmdline: z.string().optional(),
  process_parent_name: z.string().optional(),
  process_parent_path: z.string().optional(),
  process_parent_pid: z.number().int().optional(),
  process_parent_uid: z.number().int().optional(),
  process_parent_cmdline: z.string().optional(),
  process_child_name: z.string().optional(),
  process_child_path: z.string().optional(),
  process_child_pid: z.number().int().optional(),
  process_child_uid: z.number().int().optional(),
  process_child_cmdline: z.string().optional(),
  // "launche" is the API's own spelling.
  process_launche_time: z.string().optional(),
  process_terminate_time: z.string().optional(),
});

export const userInfoSchema = z.object({
  user_id: z.string().optional(),
  user_name: z.string().optional(),
});

export const fileInfoSchema = z.object({
  file_path: z.string().optional(),
  file_content: z.string().optional(),
  file_new_path: z.string().optional(),
  file_hash: z.string().optional(),
  file_md5: z.string().optional(),
  file_sha256: z.string().optional(),
  file_attr: z.string().optional(),
});

export const dataSourceSchema = z.object({
  source_type: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  domain_id: z.string().optional(),
  project_id: z.string().optional(),
  region_id: z.string().optional(),
  company_name: z.string().optional(),
  product_name: z.string().optional(),
  product_feature: z.string().optional(),
  product_module: z.string().optional(),
});

export const environmentSchema = z.object({
  vendor_type: z.string().optional(),
  domain_id: z.string().optional(),
  region_id: z.string().optional(),
  project_id: z.string().nullable().optional(),
});

/**
 * The SecMaster Alert data class as sent in `playbook_context.data_object.content`.
 * Every field is optional in the API; times are ISO 8601 strings with a zone.
 */
export const alertSchema = z.strictObject({
  version: z.string().optional(),
  id: z.string().max(36).optional(),
  domain_id: z.string().optional(),
  region_id: z.string().optional(),
  workspace_id: z.string().optional(),
  labels: z.string().optional(),
  environment: environmentSchema.optional(),
  data_source: dataSourceSchema.optional(),
  first_observed_time: z.string().optional(),
  last_observed_time: z.string().optional(),
  create_time: z.string().optional(),
  arrive_time: z.string().optional(),
  update_time: z.string().optional(),
  close_time: z.string().optional(),
  sla: z.string().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  source_url: z.string().optional(),
  count: z.number().int().min(0).optional(),
  confidence: z.number().int().min(0).max(100).optional(),
  severity: z.enum(SEVERITIES).optional(),
  criticality: z.number().int().min(0).max(100).optional(),
  alert_type: z.object({ category: z.string().optional(), alert_type: z.string().optional() }).optional(),
  remediation: z.object({ recommendation: z.string().optional(), url: z.string().optional() }).optional(),
  network_list: z.array(networkSchema).optional(),
  resource_list: z.array(resourceSchema).optional(),
  verification_state: z.enum(VERIFICATION_STATES).optional(),
  handle_status: z.enum(HANDLE_STATUSES).optional(),
  ipdrr_phase: z.enum(IPDRR_PHASES).optional(),
  simulation: z.string().optional(),
  actor: z.string().optional(),
  owner: z.string().optional(),
  creator: z.string().optional(),
  close_reason: z.enum(CLOSE_REASONS).optional(),
  close_comment: z.string().optional(),
  malware: z.object({ malware_family: z.string().optional(), malware_class: z.string().optional() }).optional(),
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
