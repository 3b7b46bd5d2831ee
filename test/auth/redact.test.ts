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

  it("keeps ordinary keys", () => {
    expect(redactSecrets("source", "grafana")).toBe("grafana");
    expect(redactSecrets("reason", "credentials-mismatch")).toBe("credentials-mismatch");
    expect(redactSecrets("SECMASTER_SK", "x")).toBe(REDACTED);
    expect(redactSecrets("Signature", "abc")).toBe(REDACTED);
  });
});
