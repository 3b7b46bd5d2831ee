import { alertmanagerSource } from "./alertmanager";
import { cloudWatchSource } from "./cloudwatch";
import { datadogSource } from "./datadog";
import { elasticSource } from "./elastic";
import { grafanaSource } from "./grafana";
import { guardDutySource } from "./guardduty";
import { huaweiCloudCesSource } from "./huaweicloud-ces";
import { securityHubSource } from "./securityhub";
import { sentinelSource } from "./sentinel";
import { splunkSource } from "./splunk";
import { wazuhSource } from "./wazuh";
import type { SourceAdapter } from "./types";

/**
 * Built-in source adapters by the id used in `POST /v1/alerts/{source}`. Generic JSON sources
 * are added at start from their mapping files (see `lib/sources/generic.ts`).
 */
export const BUILT_IN_SOURCES: Readonly<Record<string, SourceAdapter<unknown>>> = {
  // Each adapter module adds one line here, sorted by id.
  alertmanager: alertmanagerSource,
  cloudwatch: cloudWatchSource,
  datadog: datadogSource,
  elastic: elasticSource,
  grafana: grafanaSource,
  guardduty: guardDutySource,
  "huaweicloud-ces": huaweiCloudCesSource,
  securityhub: securityHubSource,
  sentinel: sentinelSource,
  splunk: splunkSource,
  wazuh: wazuhSource,
};

/** Returns the adapter for a source id, or undefined when no such source exists. */
export function findSource(
  id: string,
  extra: Readonly<Record<string, SourceAdapter<unknown>>> = {},
): SourceAdapter<unknown> | undefined {
  if (Object.hasOwn(extra, id)) return extra[id];
  if (Object.hasOwn(BUILT_IN_SOURCES, id)) return BUILT_IN_SOURCES[id];
  return undefined;
}
