import { AwsJsonClient, AwsServiceError, DYNAMODB } from "../lib/aws/client";
import { DynamoDBStore, type DynamoDBCaller } from "../lib/delivery/dynamodb-store";
import { localLambdaContext } from "../lib/delivery/poller";
import { createStarter } from "../lib/delivery/start";
import { ensureIdempotencyTable } from "../lib/local/dynamodb";
import { isDuplicateInstanceError } from "../lib/secmaster/client";
import { bridgeSender } from "./dispatch-senders";
import {
  deleteEmulatorInstances,
  SERIES_HEADERS,
  seriesRow,
  startBenchEmulator,
  summarize,
  timePass,
  type DispatchFigureOptions,
  type PassResult,
} from "./dispatch";
import { stormJobs } from "./fixtures";
import type { FigureReport, Table, TargetCheck } from "./report";
import { startServerProcess } from "./servers";
import { formatNumber, formatSpread, mapSpread, spreadOf } from "./stats";

const IDEMPOTENCY_TABLE = "secmaster-bridge-bench-idempotency";

// The Lambda handler registers its context with the starter. Without one, Powertools warns on
// stderr for every record because it cannot tell when the in-progress lock should expire.
const BENCH_LAMBDA_CONTEXT = localLambdaContext(15 * 60 * 1000, "bench");

/** Store requests of one pass, by DynamoDB operation. */
type RequestCounts = Map<string, number>;

/**
 * A DynamoDB client for the store that counts its requests by operation. The client underneath
 * makes one attempt per call, so every call is one HTTP request, and a retry would show as a
 * failure instead of an extra request.
 *
 * It also counts the GetItem requests that stand in for `ReturnValuesOnConditionCheckFailure`:
 * dynalite 4 ignores that parameter, so a conditional PutItem that fails there carries no `Item`,
 * and the store reads the record with a GetItem of its own. DynamoDB returns the record with the
 * error, and that GetItem is not sent.
 */
class CountingDynamoDB implements DynamoDBCaller {
  readonly counts: RequestCounts = new Map();
  /** GetItem requests that read the record a failed PutItem did not return. */
  fallbackReads = 0;
  readonly #client: AwsJsonClient;
  // Keys whose conditional PutItem failed without the item. The store's next GetItem of each is its fallback read.
  readonly #awaitingRead = new Set<string>();

  constructor(endpoint: string) {
    this.#client = new AwsJsonClient({
      service: DYNAMODB,
      endpoint,
      region: "local",
      // dynalite accepts any key pair; these name the local store and grant nothing.
      credentials: () => ({ accessKeyId: "dynalite", secretAccessKey: "dynalite" }),
      maxAttempts: 1,
    });
  }

  async call<Output = Record<string, unknown>>(operation: string, input: object): Promise<Output> {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    const key = keyOf(input);
    if (operation === "GetItem" && this.#awaitingRead.delete(key)) this.fallbackReads += 1;
    try {
      return await this.#client.call<Output>(operation, input);
    } catch (error) {
      if (operation === "PutItem" && error instanceof AwsServiceError && error.code === "ConditionalCheckFailedException" && error.body?.Item === undefined) {
        this.#awaitingRead.add(key);
      }
      throw error;
    }
  }

  clear(): void {
    this.counts.clear();
    this.fallbackReads = 0;
    this.#awaitingRead.clear();
  }
}

/** Returns the partition key of a GetItem, PutItem, UpdateItem or DeleteItem input, which is the table's whole key. */
function keyOf(input: object): string {
  const { Key, Item } = input as { Key?: { id?: { S?: string } }; Item?: { id?: { S?: string } } };
  return (Key ?? Item)?.id?.S ?? "";
}

function total(counts: RequestCounts): number {
  return [...counts.values()].reduce((sum, count) => sum + count, 0);
}

function describeCounts(counts: RequestCounts, alerts: number): string {
  const parts = [...counts.entries()].sort().map(([name, count]) => `${name} ${formatNumber(count / alerts, 2)}`);
  return `${formatNumber(total(counts) / alerts, 2)} (${parts.join(", ")})`;
}

interface ConcurrencyResults {
  fresh: PassResult[];
  duplicate: PassResult[];
  /** Store requests per new alert with DynamoDB semantics, that is without the GetItem requests dynalite alone needs. */
  perNew: number[];
  /** Store requests per duplicate with DynamoDB semantics. */
  perDuplicate: number[];
  /** Store requests per duplicate as sent to dynalite. */
  countedPerDuplicate: number[];
  /** GetItem requests per duplicate that read the record dynalite left out of the failed PutItem. */
  fallbackReadsPerDuplicate: number[];
  newBreakdown: string[];
  duplicateBreakdown: string[];
  /** Share of one core the dynalite process used while new alerts were sent. */
  storeCpuShare: number[];
}

/**
 * Measures figure 4: the bridge sender of figure 3 with the DynamoDB idempotency store on dynalite in a
 * child process. Each run sends new alerts, then the same alerts again as duplicates.
 */
export async function runIdempotencyFigure(options: DispatchFigureOptions): Promise<FigureReport> {
  const { emulator, credentials } = await startBenchEmulator();
  const dynalite = await startServerProcess("dynalite");
  const results = new Map<number, ConcurrencyResults>();
  try {
    await ensureIdempotencyTable(dynalite.url, IDEMPOTENCY_TABLE);
    for (let run = 0; run < options.runs; run++) {
      for (const concurrency of options.concurrencies) {
        const dynamodb = new CountingDynamoDB(dynalite.url);
        const persistenceStore = new DynamoDBStore({ tableName: IDEMPOTENCY_TABLE, client: dynamodb });
        const sender = bridgeSender({
          url: emulator.url,
          credentials,
          connections: concurrency,
          starter: (client) => {
            const starter = createStarter({ client, persistenceStore, isDuplicateError: isDuplicateInstanceError });
            starter.registerLambdaContext(BENCH_LAMBDA_CONTEXT);
            return starter;
          },
        });
        if (run === 0) await timePass(sender, stormJobs(options.warmupAlerts, `store-warmup-${concurrency}`), concurrency, emulator);

        const jobs = stormJobs(options.alerts, `store-run-${run}-${concurrency}`);
        dynamodb.clear();
        const storeCpuBefore = dynalite.cpuSeconds();
        const fresh = await timePass(sender, jobs, concurrency, emulator);
        const storeCpuAfter = dynalite.cpuSeconds();
        const newCounts = new Map(dynamodb.counts);
        const newFallbackReads = dynamodb.fallbackReads;
        dynamodb.clear();
        const duplicate = await timePass(sender, jobs, concurrency, emulator);
        const duplicateCounts = new Map(dynamodb.counts);
        const duplicateFallbackReads = dynamodb.fallbackReads;
        await sender.close();
        await deleteEmulatorInstances(emulator);

        const entry = results.get(concurrency) ?? {
          fresh: [],
          duplicate: [],
          perNew: [],
          perDuplicate: [],
          countedPerDuplicate: [],
          fallbackReadsPerDuplicate: [],
          newBreakdown: [],
          duplicateBreakdown: [],
          storeCpuShare: [],
        };
        if (storeCpuBefore !== undefined && storeCpuAfter !== undefined) {
          entry.storeCpuShare.push(((storeCpuAfter - storeCpuBefore) * fresh.alertsPerSecond) / jobs.length);
        }
        entry.fresh.push(fresh);
        entry.duplicate.push(duplicate);
        entry.perNew.push((total(newCounts) - newFallbackReads) / jobs.length);
        entry.perDuplicate.push((total(duplicateCounts) - duplicateFallbackReads) / jobs.length);
        entry.countedPerDuplicate.push(total(duplicateCounts) / jobs.length);
        entry.fallbackReadsPerDuplicate.push(duplicateFallbackReads / jobs.length);
        entry.newBreakdown.push(describeCounts(newCounts, jobs.length));
        entry.duplicateBreakdown.push(describeCounts(duplicateCounts, jobs.length));
        results.set(concurrency, entry);
      }
    }
  } finally {
    await dynalite.close();
    await emulator.close();
  }

  const table: Table = { headers: SERIES_HEADERS, rows: [] };
  const countTable: Table = {
    headers: [
      "concurrency",
      "store requests per new alert",
      "store requests per duplicate, sent to dynalite",
      "of which GetItem in place of ALL_OLD",
      "store requests per duplicate, DynamoDB semantics",
    ],
    rows: [],
  };
  const targets: TargetCheck[] = [];
  for (const concurrency of options.concurrencies) {
    const entry = results.get(concurrency)!;
    table.rows.push(seriesRow("bridge with dynalite store, new alerts", concurrency, summarize(entry.fresh)));
    table.rows.push(seriesRow("bridge with dynalite store, duplicates", concurrency, summarize(entry.duplicate)));
    countTable.rows.push([
      String(concurrency),
      entry.newBreakdown[0]!,
      entry.duplicateBreakdown[0]!,
      formatNumber(entry.fallbackReadsPerDuplicate[0]!, 2),
      formatNumber(entry.perDuplicate[0]!, 2),
    ]);
    const maxNew = Math.max(...entry.perNew);
    const maxDuplicate = Math.max(...entry.perDuplicate);
    targets.push(
      {
        subject: `store requests per new alert at concurrency ${concurrency}`,
        target: "≤ 2",
        measured: formatNumber(maxNew, 2),
        met: maxNew <= 2,
        missReason: "Some starts needed more than the conditional PutItem and the UpdateItem that saves the result.",
      },
      {
        subject: `store requests per duplicate at concurrency ${concurrency} (DynamoDB semantics)`,
        target: "≤ 1",
        measured: formatNumber(maxDuplicate, 2),
        met: maxDuplicate <= 1,
        missReason: "Some duplicates needed more than the conditional PutItem whose failure returns the existing record.",
      },
    );
  }

  const storeShares = [...results.values()].flatMap((entry) => entry.storeCpuShare);
  const storeCpuNote: string[] = [];
  if (storeShares.length > 0) {
    const share = spreadOf(storeShares);
    const pace = share.median > 0.9 ? ", so on this machine the store, not the bridge, sets the pace" : "";
    storeCpuNote.push(
      `While new alerts were sent, the dynalite process used ${formatSpread(mapSpread(share, (value) => value * 100))} % ` +
        `of one core (median, min–max over all runs)${pace}.`,
    );
  }

  return {
    id: 4,
    title: "Dispatch with the DynamoDB idempotency store (dynalite)",
    method: [
      "The bridge sender of figure 3 with the Powertools idempotency utility on, its persistence layer the bridge's " +
        "`DynamoDBStore` (`lib/delivery/dynamodb-store.ts`, DynamoDB over the bridge's own AWS JSON client) pointed at " +
        "dynalite in a second child process. Each run sends " +
        `${formatNumber(options.alerts)} new alerts, then the same alerts again, which the store reports as ` +
        "duplicates without calling SecMaster. A wrapper around the store's DynamoDB client counts every request, " +
        "by operation. The client makes one attempt per request, so each counted request is one HTTP request and a " +
        `retry would show as a failure. ${options.runs} runs per concurrency, after a warm-up of ${formatNumber(options.warmupAlerts)} alerts.`,
      "DynamoDB semantics: the store writes the record with a conditional PutItem that sets " +
        "`ReturnValuesOnConditionCheckFailure: ALL_OLD`, so on DynamoDB a duplicate's failed PutItem already " +
        "carries the existing record. dynalite 4 ignores that parameter, and the store then reads the record " +
        "with one consistent GetItem. The table gives the requests sent to dynalite, how many of them were such " +
        "GetItem requests (a GetItem of a key right after its PutItem failed without the item), and the requests " +
        "DynamoDB would see without them. The targets use the DynamoDB semantics.",
      "The counts in the table are from the first run; the targets use the maximum over all runs.",
    ],
    tables: [table, countTable],
    targets,
    notes: [
      "dynalite keeps its tables in memory and implements the DynamoDB API in JavaScript in one process, so " +
        "its latency is not DynamoDB's: the request counts carry over, the times do not. Compare the rows " +
        "with the bridge rows of figure 3 for the cost of the store on this machine.",
      ...storeCpuNote,
    ],
    reproduce: ["npm run bench -- --only 4"],
  };
}
