import type * as z from "zod";
import type { Alert, Severity } from "../alert/schema";

/** Lifecycle state of an alert as its sender reports it. */
export type AlertStatus = "firing" | "resolved";

/**
 * One alert split out of a delivery and normalized. `scope`, `key` and `episode` form the
 * alert's identity (see `lib/identity.ts`). Two notifications of the same episode must produce
 * the same three values, so no value may be random or depend on the time of receipt.
 */
export interface NormalizedAlert {
  /** Source id, such as `alertmanager`. */
  source: string;
  /** Tenant scope inside the source (Grafana org, AWS account and region); empty when none. */
  scope: string;
  /** Stable key of the alert in the sender (fingerprint, finding id). */
  key: string;
  /** Discriminator of one firing-to-resolved life of the alert (start time, cycle key). */
  episode: string;
  status: AlertStatus;
  /**
   * Set when the alert must not start a playbook whatever its status: a vendor test
   * notification or a subscription confirmation. The text is reported as the skip reason.
   */
  skipReason?: string;
  /** The SecMaster Alert content map. */
  content: Alert;
}

/** Inputs of an adapter besides the payload. Everything time-dependent comes from here. */
export interface NormalizeContext {
  /** Receipt time of the delivery, used for `create_time` and as the last observed time. */
  receivedAt: Date;
  /**
   * Resolves a severity value the adapter cannot map. The caller logs and counts it and
   * returns the configured default, so an unknown value never silently becomes the lowest.
   */
  unknownSeverity(field: string, value: unknown): Severity;
  /** Source-specific settings, such as the mapping of the generic JSON source. */
  options?: unknown;
}

/**
 * The contract every sender module satisfies. The pipeline parses the body with `schema`
 * (errors point into the payload), then calls `normalize` on the parsed value.
 */
export interface SourceAdapter<Payload = unknown> {
  /** Path segment in `POST /v1/alerts/{source}`. */
  id: string;
  /** Product name shown in docs and logs. */
  displayName: string;
  schema: z.ZodType<Payload>;
  /**
   * Schema of the source's settings (`BRIDGE_SOURCE_OPTIONS`), checked at start so a typo fails
   * the deployment rather than the first delivery. Absent when the source takes no settings.
   */
  optionsSchema?: z.ZodType;
  /**
   * Splits a parsed delivery into alerts. Throws `InvalidInputError` when an alert has no stable
   * identity; returns an empty array for an empty delivery.
   */
  normalize(payload: Payload, context: NormalizeContext): NormalizedAlert[];
}
