/**
 * Secrets the tests configure for inbound authentication. `test/setup/log-guard.ts` fails any
 * test file whose log output contains one of them, so every file of the suite is checked.
 */
export const TEST_SECRETS = {
  grafana: "example-hmac-secret-not-real",
  alertmanagerCurrent: "am-token-current-7f3a9c1e5b2d4f60",
  alertmanagerPrevious: "am-token-previous-0c9e8d7f6a5b4c3d",
  sentinelPassword: "sentinel-pass-4b8e2a6c0d1f3e5a",
  splunk: "splunk-path-token-9d1c7e3b5a2f4c6e",
  elastic: "elastic-hmac-key-2e4c6a8b0d1f3e5c",
  datadog: "datadog-api-key-6f8a0c2e4b6d8f0a",
  wazuh: "wazuh-token-1a3c5e7b9d0f2a4c",
} as const;

/** Every value above plus the encoded forms they travel in (the Basic header value). */
export const TEST_SECRET_VALUES: readonly string[] = [
  ...Object.values(TEST_SECRETS),
  Buffer.from(`soc-bridge:${TEST_SECRETS.sentinelPassword}`).toString("base64"),
];
