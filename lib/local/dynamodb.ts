import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";

/** A dynalite server standing in for DynamoDB on 127.0.0.1. */
export interface LocalDynamoDB {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite on 127.0.0.1. With `path`, tables persist in a LevelDB folder there; without it
 * they live in memory.
 */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamoDB> {
  if (options.path !== undefined) mkdirSync(options.path, { recursive: true });
  const server = dynalite({ ...(options.path === undefined ? {} : { path: options.path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Creates the idempotency table in the shape `serverless.yml` declares (partition key `id`, TTL
 * on `expiration`) unless it exists.
 */
export async function ensureIdempotencyTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "local",
    // dynalite accepts any key pair; these name the local store and grant nothing.
    credentials: { accessKeyId: "dynalite", secretAccessKey: "dynalite" },
  });
  try {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    await client
      .send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true } }))
      .catch(() => undefined); // dynalite does not implement TTL; the records still carry it.
  } finally {
    client.destroy();
  }
}
