import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { ClientBuilder } from "@huaweicloud/huaweicloud-sdk-core/ClientBuilder";
import type { HcClient } from "@huaweicloud/huaweicloud-sdk-core/HcClient";
import type { SdkResponse } from "@huaweicloud/huaweicloud-sdk-core/SdkResponse";
import { Pool } from "undici";
import { createInstanceBody, type StartJob } from "../lib/delivery/job";
import { createStarter, type Starter } from "../lib/delivery/start";
import { SecMasterClient, isDuplicateInstanceError } from "../lib/secmaster/client";
import { signRequest } from "../lib/secmaster/signer";
import { BENCH_IDS } from "./ids";
import { createWorkflowInstanceOptions } from "./sdk-request";

/** Key pair the emulator child accepts. */
export interface BenchCredentials {
  accessKey: string;
  secretKey: string;
}

/** One way of starting a workflow instance per job, with its own connections. */
export interface Sender {
  /** Prepares whatever the variant builds before the clock starts; called once per job list. */
  prepare(jobs: readonly StartJob[]): void;
  /** Sends job number `index` of the prepared list and rejects unless the call succeeded. */
  send(index: number): Promise<void>;
  close(): Promise<void>;
}

const INSTANCES_PATH = `/v1/${BENCH_IDS.projectId}/workspaces/${BENCH_IDS.workspaceId}/soc/workflows/${BENCH_IDS.workflowId}/instances`;

/** Builds a sender on the bridge's own path: `createStarter` over `SecMasterClient`, as dispatch runs it. */
export function bridgeSender(options: { url: string; credentials: BenchCredentials; connections: number; starter?: (client: SecMasterClient) => Starter }): Sender {
  const client = new SecMasterClient({
    endpoint: options.url,
    projectId: BENCH_IDS.projectId,
    credentials: { kind: "aksk", ...options.credentials },
    connections: options.connections,
  });
  const starter = options.starter?.(client) ?? createStarter({ client, persistenceStore: undefined, isDuplicateError: isDuplicateInstanceError });
  let jobs: readonly StartJob[] = [];
  return {
    prepare: (list) => {
      jobs = list;
    },
    send: async (index) => {
      const outcome = await starter.start(jobs[index]!);
      if (outcome.status !== "created" && outcome.status !== "duplicate") throw new Error(`unexpected start status ${String(outcome.status)}`);
    },
    close: () => client.close(),
  };
}

/**
 * Builds the wire floor: an undici pool that posts requests whose bodies and signatures were built
 * before the clock started, and reads each response body and nothing more.
 */
export function bareUndiciSender(options: { url: string; credentials: BenchCredentials; connections: number }): Sender {
  const pool = new Pool(new URL(options.url).origin, { connections: options.connections });
  let prepared: { body: Buffer; headers: Record<string, string> }[] = [];
  return {
    prepare: (jobs) => {
      const now = new Date();
      prepared = jobs.map((job) => {
        const body = Buffer.from(JSON.stringify(createInstanceBody(job)), "utf8");
        const signed = signRequest(
          {
            method: "POST",
            url: `${options.url}${INSTANCES_PATH}`,
            headers: { "content-type": "application/json", "X-Project-Id": BENCH_IDS.projectId },
            body,
          },
          options.credentials,
          now,
        );
        return { body, headers: signed };
      });
    },
    send: async (index) => {
      const request = prepared[index]!;
      const response = await pool.request({ method: "POST", path: INSTANCES_PATH, headers: request.headers, body: request.body });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`the emulator returned ${response.statusCode}`);
    },
    close: () => pool.close(),
  };
}

/**
 * Builds a sender on the official SDK: an `HcClient` from its `ClientBuilder` with `BasicCredentials`,
 * sending the request options that the generated SecMaster client builds for CreateWorkflowInstance.
 */
export function sdkSender(options: { url: string; credentials: BenchCredentials }): Sender {
  const credential = new BasicCredentials()
    .withAk(options.credentials.accessKey)
    .withSk(options.credentials.secretKey)
    .withProjectId(BENCH_IDS.projectId);
  const client = new ClientBuilder<HcClient>((hcClient) => hcClient).withEndpoint(options.url).withCredential(credential).build();
  let jobs: readonly StartJob[] = [];
  return {
    prepare: (list) => {
      jobs = list;
    },
    send: async (index) => {
      const job = jobs[index]!;
      const response = await client.sendRequest<SdkResponse>(createWorkflowInstanceOptions(job.workspaceId, job.workflowId, createInstanceBody(job)));
      if (response.httpStatusCode !== 200) throw new Error(`the emulator returned ${String(response.httpStatusCode)}`);
    },
    close: () => Promise.resolve(),
  };
}
