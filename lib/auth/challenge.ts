import type { SourceAuthSettings } from "./settings";

/**
 * Returns the `WWW-Authenticate` challenge for a source's scheme. RFC 9110 (section 11.6.1)
 * requires one on every 401 response. Bearer (RFC 6750) and Basic (RFC 7617) use their
 * registered names. The other schemes have no registered name, so the challenge names the
 * bridge's scheme and the header or query parameter that carries the credential. The realm
 * names the source, because each source has its own credentials.
 */
export function authChallenge(sourceId: string, settings: SourceAuthSettings): string {
  const realm = `realm="secmaster-bridge/${sourceId}"`;
  switch (settings.scheme) {
    case "bearer":
      return settings.tokenHeader === "authorization" ? `Bearer ${realm}` : `ApiKey ${realm}, header="${settings.tokenHeader}"`;
    case "basic":
      return `Basic ${realm}, charset="UTF-8"`;
    case "path-token":
      return `PathToken ${realm}, parameter="token"`;
    case "hmac":
    case "grafana-hmac":
      return `HMAC-SHA256 ${realm}, header="${settings.hmac!.signatureHeader.toLowerCase()}"`;
    case "sns":
      return `SNS-Signature ${realm}`;
    case "smn":
      return `SMN-Signature ${realm}`;
    case "none":
      // A source set to none is never rejected with 401, so this case only keeps the switch exhaustive.
      return `None ${realm}`;
  }
}
