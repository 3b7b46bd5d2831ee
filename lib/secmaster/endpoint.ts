import { ConfigError } from "../errors";
import { SECMASTER_REGIONS, isSecMasterRegion } from "./regions";

/** Endpoint the client sends its requests to. */
export interface SecMasterEndpoint {
  /** Base URL without a trailing slash, such as `https://secmaster.cn-north-4.myhuaweicloud.com`. */
  url: string;
  /** Scheme, host and port only: what the connection pool connects to. */
  origin: string;
  /** Path prefix put before every API path, `""` for the official endpoints. */
  basePath: string;
}

/** Settings that pick the endpoint: an explicit URL, or a region id. */
export interface EndpointOptions {
  /**
   * Explicit base URL, taking precedence over `region`. It must use `https:`, or `http:` on a
   * loopback host (127.0.0.0/8, `::1`, `localhost`) such as the local emulator.
   */
  endpoint?: string | undefined;
  /** Region id from `SECMASTER_REGIONS`, such as `cn-north-4`. */
  region?: string | undefined;
}

/** Returns the official endpoint of a region, or throws a `ConfigError` listing the valid ids. */
export function regionEndpoint(region: string): string {
  if (!isSecMasterRegion(region)) {
    throw new ConfigError([
      `unknown SecMaster region ${JSON.stringify(region)}; valid regions: ${SECMASTER_REGIONS.join(", ")}`,
    ]);
  }
  return `https://secmaster.${region}.myhuaweicloud.com`;
}

/**
 * Resolves the endpoint from an explicit URL or a region id. Nothing is contacted.
 *
 * @throws ConfigError when neither is set, the region is unknown, or the URL is not usable.
 */
export function resolveEndpoint(options: EndpointOptions): SecMasterEndpoint {
  if (options.endpoint !== undefined && options.endpoint !== "") return parseExplicitEndpoint(options.endpoint);
  if (options.region !== undefined && options.region !== "") return parseExplicitEndpoint(regionEndpoint(options.region));
  throw new ConfigError([
    `missing SecMaster endpoint: set a region (${SECMASTER_REGIONS.join(", ")}) or an endpoint URL`,
  ]);
}

function parseExplicitEndpoint(value: string): SecMasterEndpoint {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // A value with "@" may carry a password, so it is not repeated in the message.
    const shown = value.includes("@") ? "" : ` ${JSON.stringify(value)}`;
    throw new ConfigError([`invalid SecMaster endpoint${shown}: not an absolute URL`]);
  }

  // Shown in messages without user info, query or fragment, which may carry secrets.
  const shown = JSON.stringify(`${url.protocol}//${url.host}${url.pathname}`);
  const issues: string[] = [];
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    issues.push(`invalid SecMaster endpoint ${shown}: the scheme must be https or http`);
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    issues.push(`invalid SecMaster endpoint ${shown}: plain http is allowed only on a loopback host; use https`);
  }
  if (url.username !== "" || url.password !== "") {
    issues.push(`invalid SecMaster endpoint ${shown}: remove the user name and password from the URL`);
  }
  if (url.search !== "" || url.hash !== "") {
    issues.push(`invalid SecMaster endpoint ${shown}: remove the query string and fragment`);
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const basePath = url.pathname.replace(/\/+$/, "");
  return { url: url.origin + basePath, origin: url.origin, basePath };
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  return /^127(?:\.\d{1,3}){3}$/.test(hostname);
}
