import { ConfigError } from "../errors";
import { logger } from "../logger";
import { CertificateFetcher, type FetchFunction } from "./certificates";
import type { HeaderMap } from "./headers";
import { confirmSubscription, verifySmnMessage, verifySnsMessage, type VerifiedMessage } from "./messages";
import { AuthenticationError } from "./rejections";
import { verifyRawRequest, type RawRequest } from "./schemes";
import { resolveSecrets, type SecretValues } from "./secrets";
import { checkAuthSources, sourceKeyOf, type AuthSettings, type SourceAuthSettings } from "./settings";

/** Options of {@link InboundAuth}; tests inject the clock and the HTTPS client. */
export interface InboundAuthOptions {
  /** Used for certificate downloads and subscription confirmations. @default globalThis.fetch */
  fetch?: FetchFunction;
  /** Clock in epoch milliseconds for HMAC timestamps and certificate validity. @default Date.now */
  now?: () => number;
  /** Certificate cache; built from `fetch` and `now` when not given. */
  certificates?: CertificateFetcher;
}

/** How long the "accepting without authentication" warning stays quiet per source. */
const UNAUTHENTICATED_WARNING_INTERVAL_MS = 60_000;

/**
 * Inbound authentication of every source, built once per runtime from {@link AuthSettings}.
 * The steps run in request order: {@link settingsFor}, {@link checkSourceIp},
 * {@link verifyRawRequest} on the raw bytes, then {@link verifyMessage} on the parsed body for
 * the SNS and SMN schemes.
 */
export class InboundAuth {
  readonly settings: AuthSettings;
  readonly #now: () => number;
  readonly #fetch: FetchFunction;
  readonly #certificates: CertificateFetcher;
  readonly #lastWarningMs = new Map<string, number>();

  /** @throws ConfigError when a `BRIDGE_AUTH_<SOURCE>` names no known source. */
  constructor(settings: AuthSettings, sourceIds: readonly string[], options: InboundAuthOptions = {}) {
    const issues = checkAuthSources(settings, sourceIds);
    if (issues.length > 0) throw new ConfigError(issues);
    this.settings = settings;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#certificates = options.certificates ?? new CertificateFetcher({ fetch: this.#fetch, now: this.#now });

    const open = sourceIds.filter((id) => settings.sources[sourceKeyOf(id)] === undefined);
    if (!settings.requireAuth && open.length > 0) {
      logger.warn("sources without BRIDGE_AUTH_<SOURCE> accept unauthenticated requests; configure them before exposing the bridge", {
        unauthenticatedSources: open,
      });
    }
  }

  /**
   * Returns the settings of a source. A source without settings gets undefined when
   * authentication is not required (local runs), and a warning at most once a minute per source.
   *
   * @throws AuthenticationError 403 `source-not-configured` when authentication is required.
   */
  settingsFor(sourceId: string): SourceAuthSettings | undefined {
    const settings = this.settings.sources[sourceKeyOf(sourceId)];
    if (settings !== undefined) return settings;
    if (this.settings.requireAuth) throw new AuthenticationError("source-not-configured", 403);

    const now = this.#now();
    const last = this.#lastWarningMs.get(sourceId);
    if (last === undefined || now - last >= UNAUTHENTICATED_WARNING_INTERVAL_MS) {
      this.#lastWarningMs.set(sourceId, now);
      logger.warn("accepting an unauthenticated delivery because no BRIDGE_AUTH_<SOURCE> is set and the bridge is not on Lambda", {
        source: sourceId,
        setting: `BRIDGE_AUTH_${sourceKeyOf(sourceId)}`,
      });
    }
    return undefined;
  }

  /** @throws AuthenticationError 403 `ip-not-allowed` when the source has an allow-list without this address. */
  checkSourceIp(settings: SourceAuthSettings | undefined, sourceIp: string | undefined): void {
    if (settings?.allowedIps === undefined) return;
    if (sourceIp === undefined || !settings.allowedIps.contains(sourceIp)) throw new AuthenticationError("ip-not-allowed", 403);
  }

  /** Checks the header-based schemes over the raw request. @throws AuthenticationError 401 */
  verifyRawRequest(settings: SourceAuthSettings | undefined, request: RawRequest, values: SecretValues): void {
    if (settings === undefined) return;
    verifyRawRequest(settings, request, resolveSecrets(settings.secrets, values), this.#now());
  }

  /**
   * Verifies an SNS or SMN message and, for a verified subscription confirmation with
   * auto-confirm on, requests its confirmation link. Other schemes pass.
   *
   * @throws AuthenticationError 401 or 403; BridgeError 502 when the confirmation request fails.
   */
  async verifyMessage(settings: SourceAuthSettings | undefined, body: unknown, headers: HeaderMap): Promise<VerifiedMessage | undefined> {
    if (settings === undefined || (settings.scheme !== "sns" && settings.scheme !== "smn")) return undefined;
    const verify = settings.scheme === "sns" ? verifySnsMessage : verifySmnMessage;
    const message = await verify(body, headers, settings, this.#certificates);
    await confirmSubscription(message, settings, this.#fetch);
    return message;
  }
}
