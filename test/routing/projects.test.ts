import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config";
import type { StartJob } from "../../lib/delivery/job";
import type { Starter } from "../../lib/delivery/start";
import { startDynalite, ensureIdempotencyTable, type LocalDynamoDB } from "../../lib/local/dynamodb";
import { PerProject, createProjectStarter } from "../../lib/routing/projects";
import { createRuntime, type Runtime } from "../../lib/runtime";

const PROJECT_A = "0000000000000000000000000000a001";
const PROJECT_B = "0000000000000000000000000000b002";

function job(projectId: string, workflowId: string, actionInstanceId: string): StartJob {
  return {
    actionInstanceId,
    projectId,
    workspaceId: "11111111-2222-4333-8444-555555555555",
    workflowId,
    dataclass: { name: "Alert" },
    source: "alertmanager",
    alertKey: "k",
    content: { title: "t" },
  };
}

describe("per-project starters", () => {
  it("makes one entry per project", () => {
    const made: string[] = [];
    const entries = new PerProject((projectId) => {
      made.push(projectId);
      return { projectId };
    });

    const first = entries.get(PROJECT_A);
    const again = entries.get(PROJECT_A);
    entries.get(PROJECT_B);

    expect(again).toBe(first);
    expect(made).toEqual([PROJECT_A, PROJECT_B]);
    expect([...entries.values()].map((entry) => entry.projectId)).toEqual([PROJECT_A, PROJECT_B]);
  });

  it("hands jobs to their project's starter and shares the context", async () => {
    const calls: string[] = [];
    const contexts: string[] = [];
    const starters = new PerProject<Starter>((projectId) => ({
      start: (started) => {
        calls.push(`${projectId}:${started.actionInstanceId}`);
        return Promise.resolve({ status: "created" });
      },
      registerLambdaContext: (context) => contexts.push(`${projectId}:${context.awsRequestId}`),
    }));
    const starter = createProjectStarter(starters);

    await starter.start(job(PROJECT_A, "wf-1", "id-1"));
    starter.registerLambdaContext({ awsRequestId: "req-1" } as Context);
    await starter.start(job(PROJECT_B, "wf-2", "id-2"));

    expect(calls).toEqual([`${PROJECT_A}:id-1`, `${PROJECT_B}:id-2`]);
    expect(contexts).toEqual([`${PROJECT_A}:req-1`, `${PROJECT_B}:req-1`]);
  });
});

describe("runtime with two projects", () => {
  let server: Server;
  let dynamodb: LocalDynamoDB;
  let runtime: Runtime;
  const seen: { path: string; projectHeader: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        seen.push({ path: request.url ?? "", projectHeader: request.headers["x-project-id"] as string | undefined });
        response.writeHead(200, { "content-type": "application/json", "x-request-id": `req-${seen.length}` });
        response.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    dynamodb = await startDynalite();
    await ensureIdempotencyTable(dynamodb.endpoint, "projects-test");
    runtime = createRuntime(
      loadConfig({
        SECMASTER_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        SECMASTER_PROJECT_ID: PROJECT_A,
        SECMASTER_WORKSPACE_ID: "11111111-2222-4333-8444-555555555555",
        SECMASTER_WORKFLOW_ID: "aaaaaaaa-0000-4000-8000-000000000001",
        SECMASTER_AK: "LOCALTESTKEY00000001",
        SECMASTER_SK: "local-test-secret",
        BRIDGE_MODE: "direct",
        BRIDGE_IDEMPOTENCY_TABLE: "projects-test",
        BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint,
      }),
    );
  });
  afterAll(async () => {
    await runtime.close();
    await dynamodb.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("signs each job for its own project", async () => {
    const first = await runtime.starter.start(job(PROJECT_A, "aaaaaaaa-0000-4000-8000-000000000001", "6b0e2a55-0000-5000-8000-000000000001"));
    const second = await runtime.starter.start(job(PROJECT_B, "bbbbbbbb-0000-4000-8000-000000000002", "6b0e2a55-0000-5000-8000-000000000002"));

    expect(first.status).toBe("created");
    expect(second.status).toBe("created");
    expect(seen).toEqual([
      {
        path: `/v1/${PROJECT_A}/workspaces/11111111-2222-4333-8444-555555555555/soc/workflows/aaaaaaaa-0000-4000-8000-000000000001/instances`,
        projectHeader: PROJECT_A,
      },
      {
        path: `/v1/${PROJECT_B}/workspaces/11111111-2222-4333-8444-555555555555/soc/workflows/bbbbbbbb-0000-4000-8000-000000000002/instances`,
        projectHeader: PROJECT_B,
      },
    ]);
    expect(runtime.clients.get(PROJECT_A)).toBe(runtime.client);
    expect([...runtime.clients.values()]).toHaveLength(2);
  });

  it("keeps idempotency across projects", async () => {
    const again = await runtime.starter.start(job(PROJECT_B, "bbbbbbbb-0000-4000-8000-000000000002", "6b0e2a55-0000-5000-8000-000000000002"));

    expect(again.status).toBe("duplicate");
    expect(seen).toHaveLength(2);
  });
});
