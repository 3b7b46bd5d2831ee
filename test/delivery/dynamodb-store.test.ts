import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { IdempotencyConfig, IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { IdempotencyRecordStatusValue } from "@aws-lambda-powertools/idempotency/types";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AwsJsonClient, AwsServiceError, DYNAMODB } from "../../lib/aws/client";
import { DynamoDBStore, fromAttributeValue, toAttributeValue, type AttributeValue, type DynamoDBStoreOptions, type Item } from "../../lib/delivery/dynamodb-store";
import { BridgeError } from "../../lib/errors";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import { startAwsStandin, StandinFault, type AwsStandin } from "../helpers/aws-standin";
import { captureLogOutput } from "../helpers/log-capture";

const TABLE = "store-test-idempotency";
const SORTED_TABLE = "store-test-idempotency-sorted";
const DYNALITE_CREDENTIALS = { accessKeyId: "dynalite", secretAccessKey: "dynalite" };
// 2026-01-15T08:30:00Z, the fixed time of every test.
const NOW_MS = 1_768_465_800_000;
const FUTURE_SECONDS = 1_768_469_400;
const PAST_SECONDS = 1_768_462_200;

/** Opens the store's protected record methods to the tests. */
class OpenStore extends DynamoDBStore {
  put(record: IdempotencyRecord): Promise<void> {
    return this._putRecord(record);
  }
  get(idempotencyKey: string): Promise<IdempotencyRecord> {
    return this._getRecord(idempotencyKey);
  }
  update(record: IdempotencyRecord): Promise<void> {
    return this._updateRecord(record);
  }
  remove(record: IdempotencyRecord): Promise<void> {
    return this._deleteRecord(record);
  }
  keyOf(data: string): string {
    return this.getHashedIdempotencyKey(data);
  }
}

function record(idempotencyKey: string, status: IdempotencyRecordStatusValue, fields: Partial<ConstructorParameters<typeof IdempotencyRecord>[0]> = {}): IdempotencyRecord {
  return new IdempotencyRecord({ idempotencyKey, status, ...fields });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

let dynalite: LocalDynamoDB;
let client: AwsJsonClient;
let sdkClient: DynamoDBClient;

beforeAll(async () => {
  dynalite = await startDynalite();
  await ensureIdempotencyTable(dynalite.endpoint, TABLE);
  client = new AwsJsonClient({ service: DYNAMODB, endpoint: dynalite.endpoint, region: "local", credentials: () => DYNALITE_CREDENTIALS });
  sdkClient = new DynamoDBClient({ endpoint: dynalite.endpoint, region: "local", credentials: DYNALITE_CREDENTIALS });
});

afterAll(async () => {
  sdkClient.destroy();
  await dynalite.close();
});

// A record derives its status from the clock: one whose expiry has passed reports EXPIRED. Both
// layers also read the clock for the expiry they write, so a fixed Date makes their items comparable.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW_MS);
});

afterEach(() => {
  vi.useRealTimers();
});

async function putItem(item: Item, tableName = TABLE): Promise<void> {
  await client.call("PutItem", { TableName: tableName, Item: item });
}

async function itemOf(key: Item, tableName = TABLE): Promise<Item | undefined> {
  const output = await client.call<{ Item?: Item }>("GetItem", { TableName: tableName, Key: key, ConsistentRead: true });
  return output.Item;
}

function openStore(options: Partial<DynamoDBStoreOptions> = {}): OpenStore {
  return new OpenStore({ tableName: TABLE, client, now: () => NOW_MS, ...options });
}

describe("DynamoDBStore on dynalite", () => {
  it("puts a new key", async () => {
    const store = openStore();

    await store.put(record("put-new", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS, inProgressExpiryTimestamp: 1_768_465_860_000 }));

    expect(await itemOf({ id: { S: "put-new" } })).toEqual({
      id: { S: "put-new" },
      expiration: { N: "1768469400" },
      status: { S: "INPROGRESS" },
      in_progress_expiration: { N: "1768465860000" },
    });
  });

  it("rejects a completed key with its record", async () => {
    await putItem({
      id: { S: "put-completed" },
      expiration: { N: "1768469400" },
      status: { S: "COMPLETED" },
      data: { M: { status: { S: "created" }, requestId: { S: "request-1" } } },
    });
    const store = openStore();

    const error = await rejectionOf(store.put(record("put-completed", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS + 60 })));

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    const existing = (error as IdempotencyItemAlreadyExistsError).existingRecord!;
    expect(existing.idempotencyKey).toBe("put-completed");
    expect(existing.getStatus()).toBe("COMPLETED");
    expect(existing.expiryTimestamp).toBe(1_768_469_400);
    expect(existing.getResponse()).toEqual({ status: "created", requestId: "request-1" });
    expect((await itemOf({ id: { S: "put-completed" } }))?.status).toEqual({ S: "COMPLETED" });
  });

  it("extends a completed record in its second half", async () => {
    // Written with a one-hour lifetime; 20 minutes are left when the repeat arrives.
    await putItem({ id: { S: "put-aging" }, expiration: { N: String(NOW_MS / 1000 + 1200) }, status: { S: "COMPLETED" }, data: { M: {} } });
    const store = openStore();

    const error = await rejectionOf(store.put(record("put-aging", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.getStatus()).toBe("COMPLETED");
    expect((await itemOf({ id: { S: "put-aging" } }))?.expiration).toEqual({ N: String(FUTURE_SECONDS) });
  });

  it("keeps a completed record in its first half", async () => {
    // 40 minutes are left of a record that the repeat would write with one hour.
    const expiration = { N: String(NOW_MS / 1000 + 2400) };
    await putItem({ id: { S: "put-young" }, expiration, status: { S: "COMPLETED" }, data: { M: {} } });
    const store = openStore();

    await rejectionOf(store.put(record("put-young", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));

    expect((await itemOf({ id: { S: "put-young" } }))?.expiration).toEqual(expiration);
  });

  it("never extends an in-progress record", async () => {
    const expiration = { N: String(NOW_MS / 1000 + 60) };
    await putItem({ id: { S: "put-busy" }, expiration, status: { S: "INPROGRESS" }, in_progress_expiration: { N: String(NOW_MS + 30_000) } });
    const store = openStore();

    await rejectionOf(store.put(record("put-busy", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));

    expect((await itemOf({ id: { S: "put-busy" } }))?.expiration).toEqual(expiration);
  });

  it("takes over an expired record", async () => {
    await putItem({ id: { S: "put-expired" }, expiration: { N: String(PAST_SECONDS) }, status: { S: "COMPLETED" }, data: { M: {} } });
    const store = openStore();

    await store.put(record("put-expired", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS }));

    expect(await itemOf({ id: { S: "put-expired" } })).toEqual({ id: { S: "put-expired" }, expiration: { N: "1768469400" }, status: { S: "INPROGRESS" } });
  });

  it("takes over an in-progress record with an expired lock", async () => {
    await putItem({
      id: { S: "put-stale-lock" },
      expiration: { N: String(FUTURE_SECONDS) },
      status: { S: "INPROGRESS" },
      in_progress_expiration: { N: "1768465799999" },
    });
    const store = openStore();

    await store.put(record("put-stale-lock", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS + 60, inProgressExpiryTimestamp: 1_768_465_860_000 }));

    expect(await itemOf({ id: { S: "put-stale-lock" } })).toEqual({
      id: { S: "put-stale-lock" },
      expiration: { N: "1768469460" },
      status: { S: "INPROGRESS" },
      in_progress_expiration: { N: "1768465860000" },
    });
  });

  it("notes a takeover of an expired lock once", async () => {
    // The call that held the lock may have created the instance, so the starter must look first.
    const store = openStore();
    const key = store.keyOf("job-stale");
    await putItem({ id: { S: key }, expiration: { N: String(FUTURE_SECONDS) }, status: { S: "INPROGRESS" }, in_progress_expiration: { N: "1768465799999" } });

    await store.saveInProgress("job-stale", 60_000);

    expect(store.takeOverNotice("job-stale")).toBe(true);
    expect(store.takeOverNotice("job-stale")).toBe(false);
  });

  it("gives no notice for an expired completed record", async () => {
    // That start is known to have succeeded, so nothing needs a look-up.
    const store = openStore();
    await putItem({ id: { S: store.keyOf("job-old") }, expiration: { N: String(PAST_SECONDS) }, status: { S: "COMPLETED" }, data: { M: {} } });

    await store.saveInProgress("job-old", 60_000);

    expect(store.takeOverNotice("job-old")).toBe(false);
  });

  it("leaves a taken-over record to its new owner", async () => {
    // Call A outlived its 1 s lock and start B took the record over. A's late release, whether a
    // delete or an unsettled mark, must not touch B's lock.
    const late = openStore();
    await late.saveInProgress("job-race", 1_000);
    const key = late.keyOf("job-race");
    vi.setSystemTime(NOW_MS + 5_000);
    const owner = openStore({ now: () => NOW_MS + 5_000 });
    await owner.saveInProgress("job-race", 60_000);

    late.markUnsettled("job-race");
    await late.remove(record(key, "INPROGRESS"));
    await late.saveInProgress("job-other", 1_000);
    await late.remove(record(late.keyOf("job-other"), "INPROGRESS"));

    expect(owner.takeOverNotice("job-race")).toBe(true);
    expect((await itemOf({ id: { S: key } }))?.in_progress_expiration).toEqual({ N: String(NOW_MS + 65_000) });
    expect(await itemOf({ id: { S: late.keyOf("job-other") } })).toBeUndefined();
  });

  it("keeps a taken-over record from a late delete", async () => {
    const late = openStore();
    await late.saveInProgress("job-race-delete", 1_000);
    const key = late.keyOf("job-race-delete");
    vi.setSystemTime(NOW_MS + 5_000);
    await openStore({ now: () => NOW_MS + 5_000 }).saveInProgress("job-race-delete", 60_000);

    await late.remove(record(key, "INPROGRESS"));

    expect((await itemOf({ id: { S: key } }))?.status).toEqual({ S: "INPROGRESS" });
  });

  it("keeps the record of an unsettled call with its lock released", async () => {
    const store = openStore();
    await store.saveInProgress("job-unsettled", 60_000);
    const key = store.keyOf("job-unsettled");

    store.markUnsettled("job-unsettled");
    await store.remove(record(key, "INPROGRESS"));

    expect((await itemOf({ id: { S: key } }))?.in_progress_expiration).toEqual({ N: "0" });
    await store.saveInProgress("job-unsettled", 60_000);
    expect(store.takeOverNotice("job-unsettled")).toBe(true);
  });

  it("deletes the record of a settled failure", async () => {
    const store = openStore();
    await store.saveInProgress("job-failed", 60_000);
    const key = store.keyOf("job-failed");

    await store.remove(record(key, "INPROGRESS"));

    expect(await itemOf({ id: { S: key } })).toBeUndefined();
  });

  it("gives no takeover notice for a new key", async () => {
    const store = openStore();

    await store.saveInProgress("job-new", 60_000);

    expect(store.takeOverNotice("job-new")).toBe(false);
    expect((await itemOf({ id: { S: store.keyOf("job-new") } }))?.status).toEqual({ S: "INPROGRESS" });
  });

  it("rejects an in-progress record with a live lock", async () => {
    await putItem({
      id: { S: "put-live-lock" },
      expiration: { N: String(FUTURE_SECONDS) },
      status: { S: "INPROGRESS" },
      in_progress_expiration: { N: "1768465800001" },
    });
    const store = openStore();

    const error = await rejectionOf(store.put(record("put-live-lock", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS + 60 })));

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.getStatus()).toBe("INPROGRESS");
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.inProgressExpiryTimestamp).toBe(1_768_465_800_001);
  });

  it("updates a record to completed with data", async () => {
    const store = openStore();
    await store.put(record("update-completed", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS, inProgressExpiryTimestamp: 1_768_465_860_000 }));

    await store.update(record("update-completed", "COMPLETED", { expiryTimestamp: FUTURE_SECONDS + 5, responseData: { status: "created", requestId: "request-2" } }));

    // Powertools' layer leaves the lock expiry in place too, and the status decides.
    expect(await itemOf({ id: { S: "update-completed" } })).toEqual({
      id: { S: "update-completed" },
      expiration: { N: "1768469405" },
      status: { S: "COMPLETED" },
      in_progress_expiration: { N: "1768465860000" },
      data: { M: { status: { S: "created" }, requestId: { S: "request-2" } } },
    });
    const stored = await store.get("update-completed");
    expect(stored.getStatus()).toBe("COMPLETED");
    expect(stored.getResponse()).toEqual({ status: "created", requestId: "request-2" });
  });

  it("deletes a record", async () => {
    const store = openStore();
    await store.put(record("delete-me", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS }));

    await store.remove(record("delete-me", "EXPIRED"));

    expect(await itemOf({ id: { S: "delete-me" } })).toBeUndefined();
  });

  it("raises not found for a missing key", async () => {
    const store = openStore();

    await expect(store.get("never-written")).rejects.toBeInstanceOf(IdempotencyItemNotFoundError);
  });

  it("rejects one attribute as both keys", () => {
    const build = () => new DynamoDBStore({ tableName: TABLE, client, keyAttr: "id", sortKeyAttr: "id" });

    expect(build).toThrow(BridgeError);
    expect(build).toThrow(expect.objectContaining({ code: "BRIDGE.IDEMPOTENCY_STORE_INVALID" }));
  });
});

describe("DynamoDBStore through the AWS stand-in", () => {
  let standin: AwsStandin;
  let store: OpenStore;

  beforeEach(async () => {
    standin = await startAwsStandin();
    const standinClient = new AwsJsonClient({
      service: DYNAMODB,
      endpoint: standin.url,
      region: standin.region,
      credentials: () => standin.credentials,
      sleep: () => Promise.resolve(),
    });
    store = new OpenStore({ tableName: TABLE, client: standinClient, now: () => NOW_MS });
  });

  afterEach(async () => {
    await standin.close();
  });

  // Fails every put with a completed record that has 10 minutes left, as DynamoDB returns it.
  function conflictWithAgingRecord(data: Record<string, AttributeValue>): void {
    standin.handle("DynamoDB_20120810.PutItem", () => {
      throw new StandinFault("ConditionalCheckFailedException", "The conditional request failed", 400, {
        body: { Item: { id: { S: "aging" }, expiration: { N: String(NOW_MS / 1000 + 600) }, status: { S: "COMPLETED" }, data: { M: data } } },
      });
    });
  }

  it("retries a throttled read", async () => {
    let reads = 0;
    standin.handle("DynamoDB_20120810.GetItem", () => {
      reads += 1;
      if (reads === 1) throw new StandinFault("ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.");
      return { Item: { id: { S: "throttled" }, expiration: { N: "1768469400" }, status: { S: "COMPLETED" } } };
    });

    const stored = await store.get("throttled");

    expect(stored.getStatus()).toBe("COMPLETED");
    expect(standin.calls.map((call) => call.target)).toEqual(["DynamoDB_20120810.GetItem", "DynamoDB_20120810.GetItem"]);
    expect(standin.calls[1]!.input).toEqual({ TableName: TABLE, Key: { id: { S: "throttled" } }, ConsistentRead: true });
  });

  it("sends the conditional put", async () => {
    standin.handle("DynamoDB_20120810.PutItem", () => ({}));

    await store.put(record("conditional", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS }));

    expect(standin.calls[0]!.input).toEqual({
      TableName: TABLE,
      Item: { id: { S: "conditional" }, expiration: { N: "1768469400" }, status: { S: "INPROGRESS" } },
      ConditionExpression:
        "attribute_not_exists(#key) OR #expiry < :nowSeconds OR (#status = :inProgress AND attribute_exists(#inProgressExpiry) AND #inProgressExpiry < :nowMs)",
      ExpressionAttributeNames: { "#key": "id", "#expiry": "expiration", "#status": "status", "#inProgressExpiry": "in_progress_expiration" },
      ExpressionAttributeValues: { ":nowSeconds": { N: "1768465800" }, ":nowMs": { N: "1768465800000" }, ":inProgress": { S: "INPROGRESS" } },
      ReturnValues: "ALL_OLD",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
  });

  it("takes the existing record from the failed condition", async () => {
    standin.handle("DynamoDB_20120810.PutItem", () => {
      throw new StandinFault("ConditionalCheckFailedException", "The conditional request failed", 400, {
        body: { Item: { id: { S: "conflict" }, expiration: { N: "1768469400" }, status: { S: "COMPLETED" }, data: { M: { status: { S: "created" } } } } },
      });
    });

    const error = await rejectionOf(store.put(record("conflict", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.getResponse()).toEqual({ status: "created" });
    // DynamoDB returns the item with the error, so no GetItem follows.
    expect(standin.calls.map((call) => call.target)).toEqual(["DynamoDB_20120810.PutItem"]);
  });

  it("answers a repeat when the extension fails", async () => {
    conflictWithAgingRecord({ status: { S: "created" } });
    standin.handle("DynamoDB_20120810.UpdateItem", () => {
      throw new StandinFault("AccessDeniedException", "User is not authorized to perform: dynamodb:UpdateItem");
    });
    const logs = captureLogOutput();

    const error = await rejectionOf(store.put(record("aging", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));
    logs.restore();

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.getResponse()).toEqual({ status: "created" });
    expect(standin.calls.map((call) => call.target)).toEqual(["DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem"]);
    expect(standin.calls[1]!.input).toEqual({
      TableName: TABLE,
      Key: { id: { S: "aging" } },
      UpdateExpression: "SET #expiry = :extendedExpiry",
      ConditionExpression: "#status = :completed AND #expiry = :expiry",
      ExpressionAttributeNames: { "#expiry": "expiration", "#status": "status" },
      ExpressionAttributeValues: { ":extendedExpiry": { N: String(FUTURE_SECONDS) }, ":completed": { S: "COMPLETED" }, ":expiry": { N: String(NOW_MS / 1000 + 600) } },
    });
    expect(logs.text()).toContain("failed to extend the idempotency record of a repeated alert");
  });

  it("stays quiet when a concurrent repeat extended the record", async () => {
    conflictWithAgingRecord({});
    standin.handle("DynamoDB_20120810.UpdateItem", () => {
      throw new StandinFault("ConditionalCheckFailedException", "The conditional request failed");
    });
    const logs = captureLogOutput();

    const error = await rejectionOf(store.put(record("aging", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));
    logs.restore();

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect(standin.calls.map((call) => call.target)).toEqual(["DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem"]);
    expect(logs.text()).not.toContain("failed to extend");
  });

  it("passes on other service errors", async () => {
    standin.handle("DynamoDB_20120810.PutItem", () => {
      throw new StandinFault("ResourceNotFoundException", "Requested resource not found");
    });

    const error = await rejectionOf(store.put(record("no-table", "INPROGRESS", { expiryTimestamp: FUTURE_SECONDS })));

    expect(error).toBeInstanceOf(AwsServiceError);
    expect((error as AwsServiceError).code).toBe("ResourceNotFoundException");
  });
});

describe("DynamoDBStore beside Powertools' DynamoDBPersistenceLayer", () => {
  const data = (id: string) => ({ actionInstanceId: id, content: { severity: "High", title: "Disk full" } });
  const result = { status: "created", requestId: "request-7" };

  beforeAll(async () => {
    await sdkClient.send(
      new CreateTableCommand({
        TableName: SORTED_TABLE,
        AttributeDefinitions: [
          { AttributeName: "id", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "id", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  });

  function configured<Store extends DynamoDBStore | DynamoDBPersistenceLayer>(store: Store): Store {
    store.configure({
      config: new IdempotencyConfig({ eventKeyJmesPath: "actionInstanceId", payloadValidationJmesPath: "content", expiresAfterSeconds: 3600 }),
      keyPrefix: "compat",
    });
    return store;
  }

  function powertools(options: { sortKeyAttr?: string } = {}): DynamoDBPersistenceLayer {
    return configured(new DynamoDBPersistenceLayer({ tableName: options.sortKeyAttr === undefined ? TABLE : SORTED_TABLE, awsSdkV3Client: sdkClient, ...options }));
  }

  function ours(options: { sortKeyAttr?: string } = {}): DynamoDBStore {
    return configured(new DynamoDBStore({ tableName: options.sortKeyAttr === undefined ? TABLE : SORTED_TABLE, client, ...options }));
  }

  async function sdkItemOf(key: Item, tableName = TABLE): Promise<unknown> {
    return (await sdkClient.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
  }

  it("reads a record Powertools wrote", async () => {
    const writer = powertools();
    await writer.saveInProgress(data("compat-1"), 60_000);
    await writer.saveSuccess(data("compat-1"), result);

    const stored = await ours().getRecord(data("compat-1"));

    expect(stored.idempotencyKey).toBe("compat#o8EfrbdQyFdDrxdUJxaqDw==");
    expect(stored.getStatus()).toBe("COMPLETED");
    expect(stored.expiryTimestamp).toBe(1_768_469_400);
    expect(stored.inProgressExpiryTimestamp).toBe(1_768_465_860_000);
    expect(stored.payloadHash).toBe("ZsZYnm0uXWLwklrYbvXd8w==");
    expect(stored.getResponse()).toEqual(result);
  });

  it("rejects a start Powertools holds", async () => {
    await powertools().saveInProgress(data("compat-2"), 60_000);

    const error = await rejectionOf(ours().saveInProgress(data("compat-2"), 60_000));

    expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect((error as IdempotencyItemAlreadyExistsError).existingRecord?.getStatus()).toBe("INPROGRESS");
  });

  it("writes a record Powertools reads", async () => {
    const writer = ours();
    await writer.saveInProgress(data("compat-3"), 60_000);
    await writer.saveSuccess(data("compat-3"), result);

    const stored = await powertools().getRecord(data("compat-3"));

    expect(stored.idempotencyKey).toBe("compat#yFOBkkUCDmWXzAkc4Cxzjg==");
    expect(stored.getStatus()).toBe("COMPLETED");
    expect(stored.expiryTimestamp).toBe(1_768_469_400);
    expect(stored.payloadHash).toBe("ZsZYnm0uXWLwklrYbvXd8w==");
    expect(stored.getResponse()).toEqual(result);
  });

  it("writes the same items as Powertools", async () => {
    const theirs = powertools();
    const mine = ours();
    const nested = { status: "created", count: 2, ratio: 0.5, tags: ["a", null, true], detail: { empty: {}, list: [] } };

    await theirs.saveInProgress(data("compat-4"), 60_000);
    await mine.saveInProgress(data("compat-5"), 60_000);
    const theirsInProgress = (await sdkItemOf({ id: { S: "compat#QuSck2+wiINxg/oeZcgrZA==" } })) as Item;
    const mineInProgress = (await sdkItemOf({ id: { S: "compat#5DopW10CWXxN0UrQWfOB6A==" } })) as Item;
    await theirs.saveSuccess(data("compat-4"), nested);
    await mine.saveSuccess(data("compat-5"), nested);
    const theirsCompleted = (await sdkItemOf({ id: { S: "compat#QuSck2+wiINxg/oeZcgrZA==" } })) as Item;
    const mineCompleted = (await sdkItemOf({ id: { S: "compat#5DopW10CWXxN0UrQWfOB6A==" } })) as Item;

    expect({ ...mineInProgress, id: undefined }).toEqual({ ...theirsInProgress, id: undefined });
    expect({ ...mineCompleted, id: undefined }).toEqual({ ...theirsCompleted, id: undefined });
    expect(mineCompleted.data).toEqual({
      M: {
        status: { S: "created" },
        count: { N: "2" },
        ratio: { N: "0.5" },
        tags: { L: [{ S: "a" }, { NULL: true }, { BOOL: true }] },
        detail: { M: { empty: { M: {} }, list: { L: [] } } },
      },
    });
  });

  it("shares records on a composite key", async () => {
    await powertools({ sortKeyAttr: "sk" }).saveInProgress(data("compat-6"), 60_000);
    await powertools({ sortKeyAttr: "sk" }).saveSuccess(data("compat-6"), result);

    const stored = await ours({ sortKeyAttr: "sk" }).getRecord(data("compat-6"));
    await ours({ sortKeyAttr: "sk" }).deleteRecord(data("compat-6"));

    expect(stored.idempotencyKey).toBe("compat#waN2FjU0YNuURnsEobgmkA==");
    expect(stored.getResponse()).toEqual(result);
    expect(await sdkItemOf({ id: { S: "idempotency#" }, sk: { S: "compat#waN2FjU0YNuURnsEobgmkA==" } }, SORTED_TABLE)).toBeUndefined();
  });
});

describe("DynamoDB JSON conversion", () => {
  it("leaves out undefined members", () => {
    expect(toAttributeValue({ status: "created", requestId: undefined })).toEqual({ M: { status: { S: "created" } } });
  });

  it("round-trips nested JSON", () => {
    const value = { a: [1, "two", false, null, { b: -3.25 }], c: {} };

    expect(fromAttributeValue(toAttributeValue(value))).toEqual(value);
  });

  it.each([
    ["NaN", Number.NaN],
    ["an unsafe integer", 2 ** 60],
    ["a function", () => undefined],
    ["a Date", new Date(0)],
  ])("rejects %s", (_, value) => {
    expect(() => toAttributeValue(value)).toThrow(expect.objectContaining({ code: "BRIDGE.IDEMPOTENCY_DATA_INVALID" }));
  });

  it("rejects a string set", () => {
    const stringSet = { SS: ["a"] } as unknown as AttributeValue;

    expect(() => fromAttributeValue(stringSet)).toThrow(expect.objectContaining({ code: "BRIDGE.IDEMPOTENCY_DATA_INVALID" }));
  });
});
