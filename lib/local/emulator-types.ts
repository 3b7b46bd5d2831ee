import type { FaultSettings } from "./emulator-faults";

/** A workflow (playbook flow) that the emulator pretends exists in a workspace. */
export interface EmulatorWorkflow {
  id: string;
  name: string;
  dataclassId: string;
  dataclassName: string;
  /**
   * Whether the workflow can start instances. A create against a disabled workflow is rejected.
   * @default true
   */
  enabled?: boolean;
}

/** Minimal logger the emulator writes its start, stop and caught errors to. Powertools `Logger` fits. */
export interface EmulatorLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Settings of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * Interface to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one, which {@link RunningEmulator.port} then reports.
   * @default 9400
   */
  port?: number;
  /** The only project id the API routes accept. */
  projectId: string;
  /** Accepted AK/SK pairs for `SDK-HMAC-SHA256` signatures. */
  credentials: { accessKey: string; secretKey: string }[];
  /** Accepted `X-Auth-Token` values. */
  authTokens?: string[];
  /** Workspaces and the workflows each one contains. */
  workspaces: { workspaceId: string; workflows: EmulatorWorkflow[] }[];
  /**
   * Response to a second create with a known `action_instance_id`: `reject` returns 400
   * `SecMaster.20048001`, `accept` returns 200 with the echo and stores nothing new.
   * @default "reject"
   */
  duplicatePolicy?: "reject" | "accept";
  /**
   * Folder for `emulator-instances.jsonl`. When set, stored instances survive a restart.
   * Without it the emulator keeps instances in memory only.
   */
  dataDir?: string;
  /** Faults to inject into SecMaster API responses. */
  faults?: FaultSettings;
  /**
   * Maximum distance between `X-Sdk-Date` and {@link now}, in milliseconds, as the gateway enforces.
   * @default 900000 (15 minutes)
   */
  maxClockSkewMs?: number;
  /**
   * Clock for `X-Sdk-Date` checks and `received_at`.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Source of numbers in [0, 1) for fault decisions; inject one to make tests deterministic.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Destination of start, stop, rejection and error logs.
   * @default a logger that drops everything
   */
  logger?: EmulatorLogger;
}

/** A workflow instance the emulator accepted, as stored and as `GET /_emulator/instances` returns it. */
export interface StoredInstance {
  project_id: string;
  workspace_id: string;
  workflow_id: string;
  /** ISO 8601 UTC time the create request was accepted, from {@link EmulatorOptions.now}. */
  received_at: string;
  /** The parsed JSON body of the create request. */
  request: unknown;
  /** The request's `action_instance_id`, which the emulator uses as the instance id. */
  instance_id: string;
}

/** Counters since start or the last reset. */
export interface EmulatorStats {
  /** Instances stored. */
  created: number;
  /** Creates whose `action_instance_id` was already stored, under either duplicate policy. */
  duplicateAttempts: number;
  /** Requests rejected with 401. */
  authFailures: number;
  /** Requests rejected with 400 because they broke the API contract (duplicates not included). */
  contractRejections: number;
  faultsInjected: { "429": number; "5xx": number; drop: number; acceptTimeout: number };
  /** SecMaster API requests received: everything except `/_emulator/*` and `/healthz`. */
  requests: number;
}

/** Handle on a started emulator. */
export interface RunningEmulator {
  /** Base URL without a trailing slash, such as `http://127.0.0.1:9400`. */
  url: string;
  port: number;
  instances(): StoredInstance[];
  stats(): EmulatorStats;
  /**
   * Replaces the fault settings, including any unfinished script.
   * @throws ConfigError `BRIDGE.CONFIG_INVALID` when a rate or the script is invalid.
   */
  setFaults(faults: FaultSettings): void;
  /** Deletes every stored instance (also on disk) and zeroes the counters; fault settings stay. */
  reset(): void;
  /** Stops listening and destroys open sockets, including requests held open by `accept-timeout`. */
  close(): Promise<void>;
}
