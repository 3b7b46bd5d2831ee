import * as z from "zod";
import { ConfigError } from "../errors";
import { formatPath } from "../sources/parse";

/**
 * Outcomes a fault script can force. `none` responds normally, `5xx` picks one of 500, 502 and
 * 503 at random, and the numbered ones pick that status.
 */
export const FAULT_KINDS = ["none", "429", "5xx", "500", "502", "503", "drop", "accept-timeout"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Faults injected into SecMaster API responses after authentication. Rates are probabilities
 * from 0 to 1, drawn once per request from one number, so their sum must not exceed 1.
 */
export interface FaultSettings {
  /** Share of requests that get 429 `APIG.0308` with `Retry-After: 1`. */
  rate429?: number;
  /** Share of requests that get 500, 502 or 503. */
  rate5xx?: number;
  /** Share of requests whose socket is destroyed without a response; nothing is stored. */
  dropRate?: number;
  /** Share of requests that are processed (a create is stored) but never get a response. */
  acceptTimeoutRate?: number;
  /** Delay before every SecMaster API response, in milliseconds. */
  latencyMs?: number;
  /** Forced outcomes of the next API requests, in order; random faults resume after it. */
  script?: FaultKind[];
}

/** The fault chosen for one request. */
export type FaultOutcome =
  | { kind: "none" }
  | { kind: "429" }
  | { kind: "5xx"; status: 500 | 502 | 503 }
  | { kind: "drop" }
  | { kind: "accept-timeout" };

const rateSchema = z.number().min(0).max(1);

const faultSettingsSchema = z
  .strictObject({
    rate429: rateSchema.optional(),
    rate5xx: rateSchema.optional(),
    dropRate: rateSchema.optional(),
    acceptTimeoutRate: rateSchema.optional(),
    latencyMs: z.number().int().min(0).optional(),
    script: z.array(z.enum(FAULT_KINDS)).optional(),
  })
  .refine((settings) => sumOfRates(settings) <= 1, {
    message: "the sum of rate429, rate5xx, dropRate and acceptTimeoutRate must not exceed 1",
  });

function sumOfRates(settings: FaultSettings): number {
  return (settings.rate429 ?? 0) + (settings.rate5xx ?? 0) + (settings.dropRate ?? 0) + (settings.acceptTimeoutRate ?? 0);
}

/**
 * Validates fault settings from code or from `POST /_emulator/faults`.
 *
 * @throws ConfigError `BRIDGE.CONFIG_INVALID` listing every invalid field.
 */
export function validateFaults(settings: unknown): FaultSettings {
  const result = faultSettingsSchema.safeParse(settings);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `faults.${formatPath(issue.path)}: ${issue.message}`));
}

const RATE_KEYS = {
  "429": "rate429",
  "5xx": "rate5xx",
  drop: "dropRate",
  "accept-timeout": "acceptTimeoutRate",
} as const satisfies Record<string, keyof FaultSettings>;

const SPEC_KEYS = [...Object.keys(RATE_KEYS), "latency-ms", "script"];

/**
 * Parses the text form of fault settings used by environment variables and
 * `POST /_emulator/faults`: comma-separated `key=value` pairs such as
 * `429=0.1,5xx=0.2,drop=0.05,accept-timeout=0.02,latency-ms=50`. `script` takes fault kinds
 * separated by `|`, such as `script=429|429|none`. An empty spec means no faults.
 *
 * @throws ConfigError `BRIDGE.CONFIG_INVALID` naming every bad key or value.
 */
export function parseFaults(spec: string): FaultSettings {
  const settings: FaultSettings = {};
  const issues: string[] = [];
  const seen = new Set<string>();

  for (const entry of spec.split(",")) {
    const trimmed = entry.trim();
    if (trimmed === "") continue;

    const separator = trimmed.indexOf("=");
    if (separator < 0) {
      issues.push(`fault spec entry "${trimmed}" has no "=": write key=value`);
      continue;
    }
    const key = trimmed.slice(0, separator).trim();
    const value = trimmed.slice(separator + 1).trim();

    if (seen.has(key)) {
      issues.push(`fault spec key "${key}" appears more than once`);
      continue;
    }
    seen.add(key);

    const issue = applySpecEntry(settings, key, value);
    if (issue !== undefined) issues.push(issue);
  }

  if (issues.length === 0 && sumOfRates(settings) > 1) {
    // Rounded, because a sum such as 0.7 + 0.6 prints as 1.2999999999999998.
    issues.push(`fault spec rates add up to ${Number(sumOfRates(settings).toFixed(6))}, which exceeds 1`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return settings;
}

// Sets one key of the spec on `settings`, or returns what is wrong with it.
function applySpecEntry(settings: FaultSettings, key: string, value: string): string | undefined {
  if (key in RATE_KEYS) {
    const rate = value === "" ? Number.NaN : Number(value);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      return `fault spec key "${key}" has invalid value "${value}": expected a rate from 0 to 1`;
    }
    settings[RATE_KEYS[key as keyof typeof RATE_KEYS]] = rate;
    return undefined;
  }

  if (key === "latency-ms") {
    const latencyMs = value === "" ? Number.NaN : Number(value);
    if (!Number.isInteger(latencyMs) || latencyMs < 0) {
      return `fault spec key "latency-ms" has invalid value "${value}": expected a whole number of milliseconds`;
    }
    settings.latencyMs = latencyMs;
    return undefined;
  }

  if (key === "script") {
    const kinds = value.split("|").map((kind) => kind.trim());
    const unknown = kinds.filter((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
    if (unknown.length > 0) {
      const listed = unknown.map((kind) => `"${kind}"`).join(", ");
      return `fault spec key "script" has invalid kinds ${listed}: expected ${FAULT_KINDS.join(", ")}`;
    }
    settings.script = kinds as FaultKind[];
    return undefined;
  }

  return `unknown fault spec key "${key}": expected one of ${SPEC_KEYS.join(", ")}`;
}

/** Holds the current fault settings and decides the fault of each SecMaster API request. */
export class FaultPlan {
  private settings: FaultSettings = {};
  private script: FaultKind[] = [];

  constructor(
    settings: FaultSettings,
    private readonly random: () => number,
  ) {
    this.replace(settings);
  }

  /** Validates and installs new settings, restarting the script from its first entry. */
  replace(settings: FaultSettings): void {
    this.settings = validateFaults(settings);
    this.script = [...(this.settings.script ?? [])];
  }

  /** Returns the settings in force, with the part of the script not yet used. */
  current(): FaultSettings {
    const { script: _used, ...rest } = this.settings;
    return this.script.length > 0 ? { ...rest, script: [...this.script] } : rest;
  }

  latencyMs(): number {
    return this.settings.latencyMs ?? 0;
  }

  /** Picks the outcome of the next request: the next script entry if any, else a random draw. */
  next(): FaultOutcome {
    const scripted = this.script.shift();
    if (scripted !== undefined) return this.resolve(scripted);

    const draw = this.random();
    let threshold = this.settings.rate429 ?? 0;
    if (draw < threshold) return { kind: "429" };
    threshold += this.settings.rate5xx ?? 0;
    if (draw < threshold) return this.resolve("5xx");
    threshold += this.settings.dropRate ?? 0;
    if (draw < threshold) return { kind: "drop" };
    threshold += this.settings.acceptTimeoutRate ?? 0;
    if (draw < threshold) return { kind: "accept-timeout" };
    return { kind: "none" };
  }

  private resolve(kind: FaultKind): FaultOutcome {
    switch (kind) {
      case "none":
      case "429":
      case "drop":
      case "accept-timeout":
        return { kind };
      case "500":
      case "502":
      case "503":
        return { kind: "5xx", status: Number(kind) as 500 | 502 | 503 };
      case "5xx": {
        const statuses = [500, 502, 503] as const;
        const index = Math.min(Math.floor(this.random() * statuses.length), statuses.length - 1);
        return { kind: "5xx", status: statuses[index]! };
      }
    }
  }
}
