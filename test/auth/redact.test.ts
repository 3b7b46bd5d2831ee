import { afterEach, describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "../../lib/auth/redact";
import { logger } from "../../lib/logger";

describe("log redaction", () => {
  const originalStdout = process.stdout.write.bind(process.stdout);

  afterEach(() => {
    process.stdout.write = originalStdout;
  });

  it("redacts credential keys through the logger", () => {
    const lines: string[] = [];
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });

    logger.info("headers seen", {
      headers: { Authorization: "Bearer tok-123456", "x-api-key": "key-123456", "content-type": "application/json" },
      credentials: { accessKey: "AK123456", secretKey: "SK123456" },
      rawQueryString: "token=path-123456",
      note: "retrying with Basic dXNlcjpwYXNzd29yZA==",
      password: "pw-123456",
    });

    const output = lines.join("");
    for (const secret of ["tok-123456", "key-123456", "AK123456", "SK123456", "path-123456", "dXNlcjpwYXNzd29yZA==", "pw-123456"]) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain("application/json");
    expect(output).toContain(`Basic ${REDACTED}`);
  });

  it.each([
    ["Authorization header text", "sent Authorization: Bearer tok-123456", "sent Authorization: Bearer [REDACTED]"],
    [
      "JWT",
      "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected",
      "Bearer [REDACTED] rejected",
    ],
    ["mixed-case token", "bearer abcDEFghiJKL", "bearer [REDACTED]"],
    ["letters-only token of 32 characters", "Bearer abcdefghijklmnopqrstuvwxyzabcdef", "Bearer [REDACTED]"],
    ["token at the end of a sentence", "got Bearer tok-123456.", "got Bearer [REDACTED]."],
    ["padded Basic credentials", "Basic dXNlcjpwYXNzd29yZA==", "Basic [REDACTED]"],
    ["Basic credentials without digits or padding", "basic dXNlcjpwYXNz sent", "basic [REDACTED] sent"],
    ["Basic credentials for admin:admin", "Basic YWRtaW46YWRtaW4=", "Basic [REDACTED]"],
  ])("masks %s inside text", (_case, text, expected) => {
    expect(redactSecrets("message", text)).toBe(expected);
  });

  it.each([
    "BRIDGE_AUTH_SPLUNK_SECRETS: the bearer scheme needs at least one secret reference",
    "BRIDGE_AUTH_WAZUH_SECRETS: the basic scheme needs at least one secret reference",
    "the sender uses basic authentication",
    "send a Bearer token.",
    "Bearer tokens are compared in constant time",
    "the basic checks passed",
    "basic 2FA is off",
    'WWW-Authenticate: Basic realm="secmaster-bridge"',
    "Bearer token-based access",
    "Bearer <token>",
  ])("leaves plain text unchanged: %s", (text) => {
    expect(redactSecrets("message", text)).toBe(text);
  });

  it("keeps ordinary keys", () => {
    expect(redactSecrets("source", "grafana")).toBe("grafana");
    expect(redactSecrets("reason", "credentials-mismatch")).toBe("credentials-mismatch");
    expect(redactSecrets("SECMASTER_SK", "x")).toBe(REDACTED);
    expect(redactSecrets("Signature", "abc")).toBe(REDACTED);
  });
});
