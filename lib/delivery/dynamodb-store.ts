import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS,
} from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { IdempotencyRecordStatusValue } from "@aws-lambda-powertools/idempotency/types";
import { AwsJsonClient, AwsServiceError, DYNAMODB, type AwsJsonClientOptions } from "../aws/client";
import { BridgeError } from "../errors";
import { logger } from "../logger";

/**
 * A Powertools idempotency store on DynamoDB that sends its requests through
 * {@link AwsJsonClient} instead of the AWS SDK, so the function bundles carry neither
 * `@aws-sdk/client-dynamodb` nor the SDK core.
 *
 * Items have the shape, attribute names and attribute types of the `DynamoDBPersistenceLayer` of
 * `@aws-lambda-powertools/idempotency` 2.35, so either layer reads the records of the other, and
 * an upgrade keeps the records written before it.
 */

/** A DynamoDB attribute value in the JSON form of the DynamoDB API, such as `{ "S": "text" }`. */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };

/** A DynamoDB item: attribute values by attribute name. */
export type Item = Record<string, AttributeValue>;

/** The one method of {@link AwsJsonClient} that the store uses. The benchmark wraps it to count requests. */
export type DynamoDBCaller = Pick<AwsJsonClient, "call">;

/** JSON data Powertools stores as a record's result. */
type ResponseData = Exclude<IdempotencyRecord["responseData"], undefined>;

/** Settings of a {@link DynamoDBStore}. The attribute names and defaults are those of Powertools' `DynamoDBPersistenceLayer`. */
export interface DynamoDBStoreOptions {
  tableName: string;
  /** Client for the table. When absent, the store builds one from {@link clientOptions} on its first request. */
  client?: DynamoDBCaller | undefined;
  /** Settings of the client the store builds when {@link client} is absent. @default `{}`, which reads the environment */
  clientOptions?: Omit<AwsJsonClientOptions, "service"> | undefined;
  /** Partition key attribute. @default "id" */
  keyAttr?: string | undefined;
  /**
   * Sort key attribute of a table with a composite key. When set, the partition key contains
   * {@link staticPkValue} and the sort key contains the idempotency key.
   */
  sortKeyAttr?: string | undefined;
  /** Partition key value of every record when {@link sortKeyAttr} is set. @default `idempotency#` and the function name */
  staticPkValue?: string | undefined;
  /** Expiry of the record in seconds since the epoch, which is the table's TTL attribute. @default "expiration" */
  expiryAttr?: string | undefined;
  /** Expiry of an in-progress lock, in milliseconds since the epoch. @default "in_progress_expiration" */
  inProgressExpiryAttr?: string | undefined;
  /** @default "status" */
  statusAttr?: string | undefined;
  /** Result of the completed call. @default "data" */
  dataAttr?: string | undefined;
  /** Hash of the payload, written when payload validation is on. @default "validation" */
  validationKeyAttr?: string | undefined;
  /** Current time in milliseconds since the epoch, which decides whether a record has expired. @default Date.now */
  now?: (() => number) | undefined;
}

interface AttributeNames {
  key: string;
  expiry: string;
  inProgressExpiry: string;
  status: string;
  data: string;
  validation: string;
}

/** Stores Powertools idempotency records in DynamoDB with `GetItem`, `PutItem`, `UpdateItem` and `DeleteItem`. */
export class DynamoDBStore extends BasePersistenceLayer {
  readonly #tableName: string;
  readonly #clientOptions: Omit<AwsJsonClientOptions, "service">;
  #client: DynamoDBCaller | undefined;
  readonly #names: AttributeNames;
  readonly #sortKeyAttr: string | undefined;
  readonly #staticPkValue: string;
  readonly #now: () => number;
  /** Keys whose last in-progress write replaced an earlier record; see {@link takeOverNotice}. */
  readonly #replacedKeys = new Set<string>();
  /** Keys whose call failed with an unknown outcome; see {@link markUnsettled}. */
  readonly #unsettledKeys = new Set<string>();
  /** The lock expiry each in-progress record of this store was written with, until it is completed or released. */
  readonly #ownLocks = new Map<string, number>();

  constructor(options: DynamoDBStoreOptions) {
    super();
    this.#tableName = options.tableName;
    this.#client = options.client;
    this.#clientOptions = options.clientOptions ?? {};
    this.#names = {
      key: options.keyAttr ?? "id",
      expiry: options.expiryAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.expiryAttr,
      inProgressExpiry: options.inProgressExpiryAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.inProgressExpiryAttr,
      status: options.statusAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.statusAttr,
      data: options.dataAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.dataAttr,
      validation: options.validationKeyAttr ?? PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS.validationKeyAttr,
    };
    if (options.sortKeyAttr !== undefined && options.sortKeyAttr === this.#names.key) {
      throw new BridgeError(
        "BRIDGE.IDEMPOTENCY_STORE_INVALID",
        `invalid idempotency store: the sort key attribute "${options.sortKeyAttr}" is also the partition key attribute; name two different attributes`,
      );
    }
    this.#sortKeyAttr = options.sortKeyAttr;
    // The base class has set the prefix to the function name by now, as Powertools' layer reads it.
    this.#staticPkValue = options.staticPkValue ?? `idempotency#${this.idempotencyKeyPrefix}`;
    this.#now = options.now ?? (() => Date.now());
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const item = await this.#readItem(idempotencyKey);
    if (item === undefined) throw new IdempotencyItemNotFoundError(`idempotency record ${idempotencyKey} not found`);
    return this.#recordOf(item);
  }

  /**
   * Returns, once, whether the in-progress record just written for `data` replaced an earlier
   * in-progress record whose lock had expired or was released. The call that held that record may
   * have reached SecMaster, so the starter looks the instance up before posting. Replacing an
   * expired completed record gives no notice, because its start is known to have succeeded.
   * Reading the notice clears it.
   *
   * @param data The idempotency data passed to the idempotent function, the `action_instance_id`.
   */
  takeOverNotice(data: string): boolean {
    // Most starts replace nothing, and they skip hashing the key again.
    if (this.#replacedKeys.size === 0) return false;
    return this.#replacedKeys.delete(this.getHashedIdempotencyKey(data));
  }

  /**
   * Marks the call for `data` as failing with an unknown outcome: it may have created the
   * instance. The failed call's record is then not deleted but kept in progress with an expired
   * lock, so that the next start takes it over, gets a {@link takeOverNotice} and looks first.
   * A deleted record would let a repeat of a direct-mode delivery post without looking.
   *
   * @param data The idempotency data passed to the idempotent function, the `action_instance_id`.
   */
  markUnsettled(data: string): void {
    this.#unsettledKeys.add(this.getHashedIdempotencyKey(data));
  }

  /**
   * Writes an in-progress record unless a live one exists. The write succeeds when the key is
   * new, when the existing record has expired, or when it is in progress and its lock has expired.
   * The replaced record comes back with the write (`ReturnValues`), at no extra request, and
   * leaves a {@link takeOverNotice}.
   * @throws IdempotencyItemAlreadyExistsError with the existing record otherwise.
   */
  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const item: Item = {
      ...this.#keyOf(record.idempotencyKey),
      [this.#names.expiry]: numberValue(record.expiryTimestamp!),
      [this.#names.status]: { S: record.getStatus() },
    };
    if (record.inProgressExpiryTimestamp !== undefined) {
      item[this.#names.inProgressExpiry] = numberValue(record.inProgressExpiryTimestamp);
    }
    if (this.isPayloadValidationEnabled() && record.payloadHash !== undefined) {
      item[this.#names.validation] = { S: record.payloadHash };
    }

    // The record expiry is in seconds and the lock expiry in milliseconds, as Powertools writes them.
    const nowMs = this.#now();
    const condition =
      "attribute_not_exists(#key) OR #expiry < :nowSeconds" +
      " OR (#status = :inProgress AND attribute_exists(#inProgressExpiry) AND #inProgressExpiry < :nowMs)";
    let replaced: Item | undefined;
    try {
      const output = await this.#dynamodb().call<{ Attributes?: Item }>("PutItem", {
        TableName: this.#tableName,
        Item: item,
        ConditionExpression: condition,
        ExpressionAttributeNames: {
          "#key": this.#names.key,
          "#expiry": this.#names.expiry,
          "#status": this.#names.status,
          "#inProgressExpiry": this.#names.inProgressExpiry,
        },
        ExpressionAttributeValues: {
          ":nowSeconds": numberValue(nowMs / 1000),
          ":nowMs": numberValue(nowMs),
          ":inProgress": { S: IdempotencyRecordStatus.INPROGRESS },
        },
        ReturnValues: "ALL_OLD",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      });
      replaced = output.Attributes;
    } catch (error) {
      if (!(error instanceof AwsServiceError && error.code === "ConditionalCheckFailedException")) throw error;
      await this.#raiseAlreadyExists(record, error);
    }
    const key = record.idempotencyKey;
    if (record.inProgressExpiryTimestamp === undefined) this.#ownLocks.delete(key);
    else this.#ownLocks.set(key, record.inProgressExpiryTimestamp);
    if (replaced === undefined || stringOf(replaced, this.#names.status) !== IdempotencyRecordStatus.INPROGRESS) {
      this.#replacedKeys.delete(key);
      return;
    }
    this.#replacedKeys.add(key);
    logger.info("idempotency record taken over: the lock of an earlier start had expired or was released", { idempotencyKey: key });
  }

  /** Saves the record's status and expiry, and its result and payload hash when it has them. */
  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#ownLocks.delete(record.idempotencyKey);
    const assignments = ["#expiry = :expiry", "#status = :status"];
    const names: Record<string, string> = { "#expiry": this.#names.expiry, "#status": this.#names.status };
    const values: Item = { ":expiry": numberValue(record.expiryTimestamp!), ":status": { S: record.getStatus() } };
    if (record.responseData !== undefined) {
      assignments.push("#data = :data");
      names["#data"] = this.#names.data;
      values[":data"] = toAttributeValue(record.responseData);
    }
    if (this.isPayloadValidationEnabled() && record.payloadHash !== undefined) {
      assignments.push("#validation = :validation");
      names["#validation"] = this.#names.validation;
      values[":validation"] = { S: record.payloadHash };
    }
    await this.#dynamodb().call("UpdateItem", {
      TableName: this.#tableName,
      Key: this.#keyOf(record.idempotencyKey),
      UpdateExpression: `SET ${assignments.join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /**
   * Releases the record of a failed call. The record of an unsettled call ({@link markUnsettled})
   * stays, in progress with its lock expired, which costs the same one request as the delete.
   * When this store wrote the record's lock, the request is conditional on that lock, so a call
   * that outlived its lock leaves alone the record of the start that took it over.
   */
  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    const key = record.idempotencyKey;
    const ownLock = this.#ownLocks.get(key);
    this.#ownLocks.delete(key);
    const names: Record<string, string> = {};
    const values: Item = {};
    let condition: string | undefined;
    if (ownLock !== undefined) {
      condition = "#status = :inProgress AND #inProgressExpiry = :ownLock";
      names["#status"] = this.#names.status;
      names["#inProgressExpiry"] = this.#names.inProgressExpiry;
      values[":inProgress"] = { S: IdempotencyRecordStatus.INPROGRESS };
      values[":ownLock"] = numberValue(ownLock);
    }
    const conditional = condition === undefined ? {} : { ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values };

    try {
      if (!this.#unsettledKeys.delete(key)) {
        await this.#dynamodb().call("DeleteItem", { TableName: this.#tableName, Key: this.#keyOf(key), ...conditional });
        return;
      }
      await this.#dynamodb().call("UpdateItem", {
        TableName: this.#tableName,
        Key: this.#keyOf(key),
        UpdateExpression: "SET #inProgressExpiry = :released",
        ConditionExpression: condition ?? "#status = :inProgress",
        ExpressionAttributeNames: { "#status": this.#names.status, "#inProgressExpiry": this.#names.inProgressExpiry },
        ExpressionAttributeValues: { ...values, ":released": numberValue(0), ":inProgress": { S: IdempotencyRecordStatus.INPROGRESS } },
      });
    } catch (error) {
      if (!(error instanceof AwsServiceError && error.code === "ConditionalCheckFailedException")) throw error;
      // Another start has already taken the record over or removed it, so it is not this call's to release.
      logger.debug("idempotency record left alone: another start has taken it over", { idempotencyKey: key });
    }
  }

  /**
   * Raises the conflict of a failed conditional write with the record that caused it. DynamoDB
   * returns that record in the error because the write sets `ReturnValuesOnConditionCheckFailure`.
   * dynalite 4 ignores that parameter, so when the error has no `Item` the record is read with one
   * consistent `GetItem`. On DynamoDB that read does not happen.
   */
  async #raiseAlreadyExists(record: IdempotencyRecord, conflict: AwsServiceError): Promise<never> {
    const { idempotencyKey } = record;
    const message = `idempotency record ${idempotencyKey} already exists`;
    let item = conflict.body?.Item as Item | undefined;
    if (item === undefined) {
      try {
        item = await this.#readItem(idempotencyKey);
      } catch (readError) {
        // Powertools reads the record itself when the conflict carries none.
        throw new IdempotencyItemAlreadyExistsError(message, undefined, { cause: readError });
      }
    }
    if (item !== undefined) await this.#extendAgingRecord(item, record);
    throw new IdempotencyItemAlreadyExistsError(message, item === undefined ? undefined : this.#recordOf(item), { cause: conflict });
  }

  /**
   * Extends a completed record that a repeat met in the second half of its lifetime to the expiry
   * the repeat would have written. An alert or finding that repeats at least every half
   * time-to-live then keeps its record, instead of being posted again once the record expires. The
   * write is conditional on the record being unchanged. A failed write only logs a warning, because
   * the repeat gets the stored result either way.
   */
  async #extendAgingRecord(item: Item, repeat: IdempotencyRecord): Promise<void> {
    const names = this.#names;
    const expiry = numberOf(item, names.expiry);
    const extendedExpiry = repeat.expiryTimestamp;
    if (stringOf(item, names.status) !== IdempotencyRecordStatus.COMPLETED || expiry === undefined || extendedExpiry === undefined) return;
    const nowSeconds = this.#now() / 1000;
    if (expiry - nowSeconds > (extendedExpiry - nowSeconds) / 2) return;

    try {
      await this.#dynamodb().call("UpdateItem", {
        TableName: this.#tableName,
        Key: this.#keyOf(repeat.idempotencyKey),
        UpdateExpression: "SET #expiry = :extendedExpiry",
        ConditionExpression: "#status = :completed AND #expiry = :expiry",
        ExpressionAttributeNames: { "#expiry": names.expiry, "#status": names.status },
        ExpressionAttributeValues: {
          ":extendedExpiry": numberValue(extendedExpiry),
          ":completed": { S: IdempotencyRecordStatus.COMPLETED },
          ":expiry": numberValue(expiry),
        },
      });
    } catch (error) {
      // A failed condition most often means that a concurrent repeat extended the record first.
      const concurrent = error instanceof AwsServiceError && error.code === "ConditionalCheckFailedException";
      const details = { idempotencyKey: repeat.idempotencyKey, expiry, error: error as Error };
      if (concurrent) logger.debug("idempotency record of a repeated alert changed before its extension", details);
      else logger.warn("failed to extend the idempotency record of a repeated alert; it expires as first written", details);
    }
  }

  async #readItem(idempotencyKey: string): Promise<Item | undefined> {
    const output = await this.#dynamodb().call<{ Item?: Item }>("GetItem", {
      TableName: this.#tableName,
      Key: this.#keyOf(idempotencyKey),
      ConsistentRead: true,
    });
    return output.Item;
  }

  #dynamodb(): DynamoDBCaller {
    this.#client ??= new AwsJsonClient({ ...this.#clientOptions, service: DYNAMODB });
    return this.#client;
  }

  #keyOf(idempotencyKey: string): Item {
    if (this.#sortKeyAttr === undefined) return { [this.#names.key]: { S: idempotencyKey } };
    return { [this.#names.key]: { S: this.#staticPkValue }, [this.#sortKeyAttr]: { S: idempotencyKey } };
  }

  #recordOf(item: Item): IdempotencyRecord {
    const names = this.#names;
    const keyAttribute = this.#sortKeyAttr ?? names.key;
    const data = item[names.data];
    return new IdempotencyRecord({
      idempotencyKey: stringOf(item, keyAttribute)!,
      ...(this.#sortKeyAttr === undefined ? {} : { sortKey: stringOf(item, this.#sortKeyAttr) }),
      // An unknown status is passed on, because the record's getStatus() raises IdempotencyInvalidStatusError for it.
      status: stringOf(item, names.status) as IdempotencyRecordStatusValue,
      expiryTimestamp: numberOf(item, names.expiry),
      inProgressExpiryTimestamp: numberOf(item, names.inProgressExpiry),
      responseData: data === undefined ? undefined : fromAttributeValue(data),
      payloadHash: stringOf(item, names.validation),
    });
  }
}

function numberValue(value: number): { N: string } {
  return { N: String(value) };
}

function stringOf(item: Item, name: string): string | undefined {
  const value = item[name];
  return value !== undefined && "S" in value ? value.S : undefined;
}

function numberOf(item: Item, name: string): number | undefined {
  const value = item[name];
  return value !== undefined && "N" in value ? Number(value.N) : undefined;
}

/**
 * Converts JSON data to a DynamoDB attribute value the way `marshall` of `@aws-sdk/util-dynamodb`
 * does for Powertools: objects become maps (`M`), arrays lists (`L`), numbers `N`. Object members
 * whose value is undefined are left out, as `JSON.stringify` leaves them out.
 * @throws BridgeError `BRIDGE.IDEMPOTENCY_DATA_INVALID` for a value JSON cannot hold, or a number
 *   outside the safe integer range, which `marshall` rejects too.
 */
export function toAttributeValue(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "boolean") return { BOOL: value };
  if (typeof value === "number") {
    if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) throw unstorableData(`the number ${value}`);
    return numberValue(value);
  }
  if (Array.isArray(value)) return { L: value.map((element: unknown) => toAttributeValue(element)) };
  if (typeof value === "object" && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const members: Record<string, AttributeValue> = {};
    for (const [name, member] of Object.entries(value)) {
      if (member !== undefined) members[name] = toAttributeValue(member);
    }
    return { M: members };
  }
  throw unstorableData(`a value of type ${typeof value}`);
}

/**
 * Converts a DynamoDB attribute value back to JSON data.
 * @throws BridgeError `BRIDGE.IDEMPOTENCY_DATA_INVALID` for sets and binary values, which
 *   Powertools never writes.
 */
export function fromAttributeValue(value: AttributeValue): ResponseData {
  if ("S" in value) return value.S;
  if ("N" in value) return Number(value.N);
  if ("BOOL" in value) return value.BOOL;
  if ("NULL" in value) return null;
  if ("L" in value) return value.L.map((element) => fromAttributeValue(element));
  if ("M" in value) {
    const members: Record<string, ResponseData> = {};
    for (const [name, member] of Object.entries(value.M)) members[name] = fromAttributeValue(member);
    return members;
  }
  throw new BridgeError(
    "BRIDGE.IDEMPOTENCY_DATA_INVALID",
    `invalid idempotency record data: an attribute of type ${Object.keys(value).join(", ")} has no JSON form, so a program other than Powertools wrote the record`,
  );
}

function unstorableData(value: string): BridgeError {
  return new BridgeError("BRIDGE.IDEMPOTENCY_DATA_INVALID", `invalid idempotency record data: ${value} cannot be stored as DynamoDB JSON. Return plain JSON from the idempotent function`);
}
