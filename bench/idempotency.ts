import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, type PutItemCommandInput } from "@aws-sdk/client-dynamodb";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
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

function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "local",
    // dynalite accepts any key pair; these name the local store and grant nothing.
    credentials: { accessKeyId: "dynalite", secretAccessKey: "dynalite" },
    maxAttempts: 1,
  });
}

/**
 * Counts every HTTP request the client sends, by operation. The deserialize step runs once per
 * attempt, and the client makes one attempt per request, so a retry would show as a failure.
 */
function countRequests(client: DynamoDBClient): RequestCounts {
  const counts: RequestCounts = new Map();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? "unknown").replace(/Command$/, "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "deserialize", name: "benchRequestCounter" },
  );
  return counts;
}

/**
 * Gives a failed conditional PutItem the existing item, as DynamoDB does when the request sets
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD` (which Powertools sets). dynalite 4 ignores that
 * parameter, and Powertools then reads the record with a GetItem of its own. The item is read here
 * through `lookup`, a client whose requests are not counted, and the reads are tallied apart.
 */
function emulateReturnValuesOnConditionCheckFailure(client: DynamoDBClient, lookup: DynamoDBClient): { lookups: number } {
  const tally = { lookups: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const input = args.input as PutItemCommandInput;
        if (
          context.commandName === "PutItemCommand" &&
          error instanceof ConditionalCheckFailedException &&
          error.Item === undefined &&
          input.ReturnValuesOnConditionCheckFailure === "ALL_OLD"
        ) {
          tally.lookups += 1;
          const existing = await lookup.send(new GetItemCommand({ TableName: input.TableName, Key: { id: input.Item!.id! }, ConsistentRead: true }));
          error.Item = existing.Item;
        }
        throw error;
      }
    },
    { step: "initialize", name: "benchReturnValuesOnConditionCheckFailure" },
  );
  return tally;
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
  perNew: number[];
  perDuplicate: number[];
  /** GetItem requests dynalite would have needed per duplicate without the emulated item. */
  dynaliteLookupsPerDuplicate: number[];
  newBreakdown: string[];
  duplicateBreakdown: string[];
  /** Share of one core the dynalite process used while new alerts were sent. */
  storeCpuShare: number[];
}

/**
 * Measures figure 4: the bridge sender of figure 3 with the Powertools idempotency store on dynalite in a
 * child process. Each run sends new alerts, then the same alerts again as duplicates.
 */
export async function runIdempotencyFigure(options: DispatchFigureOptions): Promise<FigureReport> {
  const { emulator, credentials } = await startBenchEmulator();
  const dynalite = await startServerProcess("dynalite");
  const lookup = localClient(dynalite.url);
  const results = new Map<number, ConcurrencyResults>();
  try {
    await ensureIdempotencyTable(dynalite.url, IDEMPOTENCY_TABLE);
    for (let run = 0; run < options.runs; run++) {
      for (const concurrency of options.concurrencies) {
        const dynamodb = localClient(dynalite.url);
        const counts = countRequests(dynamodb);
        const emulated = emulateReturnValuesOnConditionCheckFailure(dynamodb, lookup);
        const persistenceStore = new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: dynamodb });
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
        counts.clear();
        const storeCpuBefore = dynalite.cpuSeconds();
        const fresh = await timePass(sender, jobs, concurrency, emulator);
        const storeCpuAfter = dynalite.cpuSeconds();
        const newCounts = new Map(counts);
        counts.clear();
        emulated.lookups = 0;
        const duplicate = await timePass(sender, jobs, concurrency, emulator);
        const duplicateCounts = new Map(counts);
        await sender.close();
        dynamodb.destroy();
        await deleteEmulatorInstances(emulator);

        const entry = results.get(concurrency) ?? {
          fresh: [],
          duplicate: [],
          perNew: [],
          perDuplicate: [],
          dynaliteLookupsPerDuplicate: [],
          newBreakdown: [],
          duplicateBreakdown: [],
          storeCpuShare: [],
        };
        if (storeCpuBefore !== undefined && storeCpuAfter !== undefined) {
          entry.storeCpuShare.push(((storeCpuAfter - storeCpuBefore) * fresh.alertsPerSecond) / jobs.length);
        }
        entry.fresh.push(fresh);
        entry.duplicate.push(duplicate);
        entry.perNew.push(total(newCounts) / jobs.length);
        entry.perDuplicate.push(total(duplicateCounts) / jobs.length);
        entry.dynaliteLookupsPerDuplicate.push(emulated.lookups / jobs.length);
        entry.newBreakdown.push(describeCounts(newCounts, jobs.length));
        entry.duplicateBreakdown.push(describeCounts(duplicateCounts, jobs.length));
        results.set(concurrency, entry);
      }
    }
  } finally {
    lookup.destroy();
    await dynalite.close();
    await emulator.close();
  }

  const table: Table = { headers: SERIES_HEADERS, rows: [] };
  const countTable: Table = {
    headers: ["concurrency", "store requests per new alert", "store requests per duplicate", "GetItem dynalite alone would add per duplicate"],
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
      formatNumber(Math.max(...entry.dynaliteLookupsPerDuplicate), 2),
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
        missReason: "Powertools read the existing record with a second request after its conditional PutItem failed.",
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
      "The bridge sender of figure 3 with the Powertools idempotency utility on, its DynamoDB persistence layer " +
        "pointed at dynalite in a second child process. Each run sends " +
        `${formatNumber(options.alerts)} new alerts, then the same alerts again, which the store reports as ` +
        "duplicates without calling SecMaster. A middleware on the DynamoDB client's deserialize step counts " +
        "every HTTP request, by operation. The client makes one attempt per request, so a retry would show as " +
        `a failure. ${options.runs} runs per concurrency, after a warm-up of ${formatNumber(options.warmupAlerts)} alerts.`,
      "DynamoDB semantics: Powertools writes the record with a conditional PutItem that sets " +
        "`ReturnValuesOnConditionCheckFailure: ALL_OLD`, so on DynamoDB a duplicate's failed PutItem already " +
        "carries the existing record. dynalite 4 ignores that parameter, and Powertools then reads the record " +
        "with a GetItem of its own. The benchmark fills the item into the error from a GetItem on a second, " +
        "uncounted client, so the counts are those DynamoDB would see; the last column says how many GetItem " +
        "requests dynalite alone would have added.",
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
