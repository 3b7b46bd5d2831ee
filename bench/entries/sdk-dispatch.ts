/**
 * The dispatch function as it would be built on the official SDK core instead of our SecMaster
 * client: the same Middy handler, dispatch loop, Powertools idempotency and DynamoDB store
 * (`lib/delivery/dynamodb-store.ts`), with `HcClient` from `@huaweicloud/huaweicloud-sdk-core`
 * sending CreateWorkflowInstance. Only the SecMaster client differs from `functions/dispatch.ts`,
 * which also carries our metrics, the SQS retry backoff and the loading of secrets, so apart from
 * the client it imports less. Only its cold import is measured; it is never invoked.
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { ClientBuilder } from "@huaweicloud/huaweicloud-sdk-core/ClientBuilder";
import type { HcClient } from "@huaweicloud/huaweicloud-sdk-core/HcClient";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { dispatchRecords } from "../../lib/delivery/dispatch";
import { DynamoDBStore } from "../../lib/delivery/dynamodb-store";
import { createStarter, type Starter, type WorkflowInstanceCreator } from "../../lib/delivery/start";
import { logger } from "../../lib/logger";
import { createWorkflowInstanceOptions } from "../sdk-request";

let starter: Starter | undefined;

function sdkCreator(): WorkflowInstanceCreator {
  const credential = new BasicCredentials()
    .withAk(process.env.SECMASTER_AK ?? "")
    .withSk(process.env.SECMASTER_SK ?? "")
    .withProjectId(process.env.SECMASTER_PROJECT_ID ?? "");
  const client = new ClientBuilder<HcClient>((hcClient) => hcClient).withEndpoint(process.env.SECMASTER_ENDPOINT ?? "").withCredential(credential).build();
  return {
    async createWorkflowInstance(input) {
      await client.sendRequest(createWorkflowInstanceOptions(input.workspaceId, input.workflowId, input.body));
      return { attempts: 1 };
    },
  };
}

function getStarter(): Starter {
  starter ??= createStarter({
    client: sdkCreator(),
    persistenceStore: new DynamoDBStore({ tableName: process.env.BRIDGE_IDEMPOTENCY_TABLE ?? "", clientOptions: {} }),
    isDuplicateError: () => false,
  });
  return starter;
}

/** SQS handler of the jobs queue, built on the official SDK. */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context, { signal }) => {
    const current = getStarter();
    current.registerLambdaContext(context);
    const records = event.Records.map((record) => ({
      messageId: record.messageId,
      receiptHandle: record.receiptHandle,
      body: record.body,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
    }));
    const failed = await dispatchRecords(
      records,
      { starter: current, queue: undefined, deadLetters: undefined, maxReceives: 5, concurrency: 8, retryBaseDelayMs: 1_000, retryMaxDelayMs: 60_000 },
      { signal },
    );
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
