import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { bundleEntry } from "../scripts/build";
import { readFixtureText, STORM_FIXTURE } from "./fixtures";
import { createQueueIngest } from "./queue-ingest-handler";
import type { FigureReport, TargetCheck } from "./report";
import { formatNumber, formatSpread, percentile, spreadOf } from "./stats";

const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));
const RSS_BUNDLE_DIR = "dist/bench-ingest-rss";
const GNU_TIME = "/usr/bin/time";

/** Maximum p99 latency of ingesting the storm in queue mode, in milliseconds. */
const MAX_P99_MS = 50;
/** Maximum peak RSS while ingesting the large delivery, in bytes. */
const MAX_RSS_BYTES = 256 * 1024 * 1024;

// The defaults of BRIDGE_MAX_BODY_BYTES and BRIDGE_MAX_ALERTS_PER_DELIVERY: the largest delivery
// the ingest function accepts without raised limits.
const LARGE_BODY_MAX_BYTES = 5 * 1024 * 1024;
const LARGE_DELIVERY_ALERTS = 1_000;

interface StormAlert {
  fingerprint: string;
  annotations: Record<string, string>;
}

/**
 * Builds an Alertmanager delivery of {@link LARGE_DELIVERY_ALERTS} distinct alerts, cut from the
 * storm fixture, whose descriptions are padded so that the body is just under 5 MiB.
 */
export function largeDelivery(): string {
  const storm = JSON.parse(readFixtureText(`payloads/${STORM_FIXTURE}`)) as { alerts: StormAlert[]; truncatedAlerts: number };
  const build = (padding: number) =>
    JSON.stringify({
      ...storm,
      truncatedAlerts: 0,
      alerts: Array.from({ length: LARGE_DELIVERY_ALERTS }, (_, index) => {
        const alert = storm.alerts[index % storm.alerts.length]!;
        const description = `${alert.annotations.description ?? ""} ${"x".repeat(padding)}`;
        return { ...alert, fingerprint: `${alert.fingerprint}-large-${index}`, annotations: { ...alert.annotations, description } };
      }),
    });
  const unpadded = Buffer.byteLength(build(0));
  // Leaves a kibibyte of room, because the padding is spread evenly over the alerts.
  const padding = Math.floor((LARGE_BODY_MAX_BYTES - 1024 - unpadded) / LARGE_DELIVERY_ALERTS);
  return build(padding);
}

interface RssResult {
  statusCode: number;
  jobs: number;
  bodyBytes: number;
  /** RSS of the process before it read the delivery. */
  rssBeforeBytes: number;
  maxRssBytes: number;
  /** Maximum resident set size that `/usr/bin/time -v` reported, when it exists. */
  gnuTimeMaxRssBytes: number | undefined;
}

function measureRss(deliveryFile: string): RssResult {
  const bundle = `${REPOSITORY_ROOT}${RSS_BUNDLE_DIR}/index.mjs`;
  const env = { PATH: process.env.PATH ?? "", LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" };
  const useGnuTime = existsSync(GNU_TIME);
  const child = useGnuTime
    ? spawnSync(GNU_TIME, ["-v", process.execPath, bundle, deliveryFile], { env, encoding: "utf8" })
    : spawnSync(process.execPath, [bundle, deliveryFile], { env, encoding: "utf8" });
  if (child.status !== 0) throw new Error(`the RSS process exited with ${String(child.status)}: ${child.stderr.slice(-2000)}`);
  const result = JSON.parse(child.stdout) as Omit<RssResult, "gnuTimeMaxRssBytes">;
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(child.stderr);
  return { ...result, gnuTimeMaxRssBytes: match === null ? undefined : Number(match[1]) * 1024 };
}

/**
 * Measures figure 6: latency of ingesting the 500-alert storm in queue mode with an in-process queue, and
 * the peak RSS of a process that ingests the largest delivery the default limits accept.
 */
export async function runQueueIngestFigure(options: { runs: number; invocations: number; warmup: number; rssProcesses: number }): Promise<FigureReport> {
  const storm = readFixtureText(`payloads/${STORM_FIXTURE}`);
  const ingest = createQueueIngest();
  const p50s: number[] = [];
  const p99s: number[] = [];
  let jobsPerInvocation = 0;
  try {
    for (let index = 0; index < options.warmup; index++) await ingest.invoke(storm);
    for (let run = 0; run < options.runs; run++) {
      const latenciesMs: number[] = [];
      for (let index = 0; index < options.invocations; index++) {
        const startedMs = performance.now();
        const result = await ingest.invoke(storm);
        latenciesMs.push(performance.now() - startedMs);
        if (result.statusCode !== 202) throw new Error(`ingest returned ${result.statusCode} for the storm; expected 202`);
        jobsPerInvocation = result.jobs;
      }
      latenciesMs.sort((a, b) => a - b);
      p50s.push(percentile(latenciesMs, 0.5));
      p99s.push(percentile(latenciesMs, 0.99));
    }
  } finally {
    await ingest.close();
  }

  await bundleEntry("bench/entries/ingest-rss.ts", RSS_BUNDLE_DIR);
  const folder = mkdtempSync(join(tmpdir(), "secmaster-bridge-bench-"));
  const deliveryFile = join(folder, "large-delivery.json");
  writeFileSync(deliveryFile, largeDelivery());
  const rssRuns: RssResult[] = [];
  try {
    for (let run = 0; run < options.rssProcesses; run++) rssRuns.push(measureRss(deliveryFile));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const first = rssRuns[0]!;
  if (first.statusCode !== 202) throw new Error(`ingest returned ${first.statusCode} for the large delivery; expected 202`);
  const peakRss = spreadOf(rssRuns.map((run) => run.gnuTimeMaxRssBytes ?? run.maxRssBytes));
  const rssSource = first.gnuTimeMaxRssBytes === undefined ? "`process.resourceUsage().maxRSS`" : "`/usr/bin/time -v` (Maximum resident set size)";

  const p50 = spreadOf(p50s);
  const p99 = spreadOf(p99s);
  const mib = (bytes: number) => bytes / 1024 / 1024;
  const targets: TargetCheck[] = [
    {
      subject: "queue-mode ingest of the storm, p99",
      target: `≤ ${MAX_P99_MS} ms`,
      measured: `${formatNumber(p99.median, 1)} ms`,
      met: p99.median <= MAX_P99_MS,
      missReason:
        "Each invocation parses and validates the 358 KB body, normalizes 501 alerts, routes them and " +
        "serializes and validates one job message per alert before the queue takes it.",
    },
    {
      subject: "peak RSS ingesting a 5 MiB delivery",
      target: "≤ 256 MiB",
      measured: `${formatNumber(mib(peakRss.median), 0)} MiB`,
      met: peakRss.median <= MAX_RSS_BYTES,
      missReason:
        "The body is held as a string, parsed into objects, validated into copies, normalized and " +
        "serialized again as job messages, so several copies of the delivery are alive at once.",
    },
  ];

  return {
    id: 6,
    title: "Ingest in queue mode: storm latency and memory",
    method: [
      "The ingest Lambda handler of `functions/ingest.ts` runs in queue mode in this process, over the " +
        "ingest runtime with an in-memory queue (`bench/memory-queue.ts`) in place of SQS, and with bearer-" +
        "token authentication for Alertmanager. Each invocation gets an API Gateway HTTP API event with the " +
        `storm fixture (${formatNumber(Buffer.byteLength(storm))} bytes, ${jobsPerInvocation} jobs queued) and ` +
        "goes through the whole Middy chain: secrets, authentication, limits, parsing, normalizing, routing, " +
        `job encoding and the 202 answer. ${options.runs} runs of ${options.invocations} invocations after ` +
        `${options.warmup} warm-up invocations; latency is per invocation.`,
      `Peak RSS: \`bench/entries/ingest-rss.ts\` is bundled like a Lambda function and run by plain \`node\` in ` +
        `${options.rssProcesses} fresh processes, each posting one delivery of ${formatNumber(LARGE_DELIVERY_ALERTS)} ` +
        `distinct alerts padded to ${formatNumber(first.bodyBytes)} bytes (just under the default ` +
        "`BRIDGE_MAX_BODY_BYTES` of 5 MiB, with the default maximum of 1,000 alerts per delivery) through the " +
        `same handler. The figure is the process's maximum resident set size from ${rssSource}, Node's own ` +
        `memory included; the process started at ${formatNumber(mib(first.rssBeforeBytes), 0)} MiB before the delivery was read.`,
    ],
    tables: [
      {
        headers: ["measurement", "median (min–max)"],
        rows: [
          ["storm ingest p50 ms", formatSpread(p50, 2)],
          ["storm ingest p99 ms", formatSpread(p99, 2)],
          ["peak RSS for the 5 MiB delivery, MiB", formatSpread({ median: mib(peakRss.median), min: mib(peakRss.min), max: mib(peakRss.max) }, 0)],
        ],
      },
    ],
    targets,
    reproduce: [
      "npm run bench -- --only 6",
      "# the RSS alone, after the benchmark built the bundle, here for the storm delivery:",
      `/usr/bin/time -v node ${RSS_BUNDLE_DIR}/index.mjs test/fixtures/payloads/${STORM_FIXTURE}`,
    ],
  };
}
