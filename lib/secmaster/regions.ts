/**
 * Region ids that have a SecMaster endpoint, in the order of the official SDK's region table
 * (`SecMasterRegion` in huaweicloud-sdk-nodejs-v3 3.1.209; the Go SDK 0.1.188 has the same list).
 * Each region has exactly one endpoint, `https://secmaster.{region}.myhuaweicloud.com`.
 */
export const SECMASTER_REGIONS = [
  "cn-north-4",
  "cn-east-3",
  "cn-south-1",
  "cn-north-9",
  "cn-north-2",
  "cn-east-2",
  "cn-southwest-2",
  "cn-south-2",
  "cn-north-1",
  "cn-east-4",
  "me-east-1",
  "cn-north-11",
  "sa-brazil-1",
  "la-north-2",
  "ap-southeast-3",
  "ap-southeast-2",
  "ap-southeast-1",
  "ap-southeast-4",
  "tr-west-1",
  "af-north-1",
  "af-south-1",
  "la-south-2",
  "eu-west-101",
  "ap-southeast-5",
  "my-kualalumpur-1",
  "cn-east-5",
  "cn-north-12",
  "cn-southwest-3",
] as const;

/** A region id from {@link SECMASTER_REGIONS}. */
export type SecMasterRegion = (typeof SECMASTER_REGIONS)[number];

const REGION_SET: ReadonlySet<string> = new Set(SECMASTER_REGIONS);

/** Tells whether a string is one of the {@link SECMASTER_REGIONS}. */
export function isSecMasterRegion(value: string): value is SecMasterRegion {
  return REGION_SET.has(value);
}
