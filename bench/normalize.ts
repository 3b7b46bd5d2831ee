import { Buffer } from "node:buffer";
import { adapterFor, loadDeliveryCases, planBenchDelivery, STORM_FIXTURE } from "./fixtures";
import type { FigureReport, Table, TargetCheck } from "./report";
import { calibrateIterations, formatNumber, formatSpread, nanosecondsPerCall, spreadOf, type Spread } from "./stats";

/** Maximum ratio of normalize time to `JSON.parse` time of the same bytes. */
const MAX_PARSE_RATIO = 10;

const CEF_LINE_FIXTURE = "generic-cef-line-in-json.json";
// The split of the CEF line's time, from one quiet timing of its parts on Node.js 20.20 (2 shared cores).
const CEF_LINE_MISS =
  ` ${CEF_LINE_FIXTURE} is one JSON object around a CEF line, so JSON.parse copies one string while normalize ` +
  "still parses the line. In one quiet timing of its parts (7.3 µs in all): mapping the 21 built-in CEF fields " +
  "about 1.5 µs, parsing the line 1.25 µs, the UUIDv5 id (SHA-1) 1.2 µs, routing and the job 0.8 µs, building " +
  "the content 0.5 µs and the rt time 0.35 µs. The parts other than the mapping already take about 4 µs of the " +
  "4.4 µs that 10× allows.";

interface CaseResult {
  fixture: string;
  source: string;
  bytes: number;
  alerts: number;
  parseUs: Spread;
  normalizeUs: Spread;
  alertsPerSecond: Spread;
  ratio: Spread;
}

/**
 * Measures figure 1: normalize time per sample delivery against a bare `JSON.parse` of the same bytes.
 * Each run times both loops back to back for about `runMs` milliseconds each.
 */
export function runNormalizeFigure(options: { runs: number; runMs: number }): FigureReport {
  const results = loadDeliveryCases().map((deliveryCase) => {
    const adapter = adapterFor(deliveryCase.source);
    const body = JSON.parse(deliveryCase.raw) as unknown;
    const alerts = planBenchDelivery(adapter, body).length;
    const parse = () => JSON.parse(deliveryCase.raw) as unknown;
    const normalize = () => planBenchDelivery(adapter, body);

    const parseIterations = calibrateIterations(parse, options.runMs);
    const normalizeIterations = calibrateIterations(normalize, options.runMs);
    const parseNs: number[] = [];
    const normalizeNs: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      parseNs.push(nanosecondsPerCall(parse, parseIterations));
      normalizeNs.push(nanosecondsPerCall(normalize, normalizeIterations));
    }
    const result: CaseResult = {
      fixture: deliveryCase.fixture,
      source: deliveryCase.source,
      bytes: Buffer.byteLength(deliveryCase.raw),
      alerts,
      parseUs: spreadOf(parseNs.map((ns) => ns / 1000)),
      normalizeUs: spreadOf(normalizeNs.map((ns) => ns / 1000)),
      alertsPerSecond: spreadOf(normalizeNs.map((ns) => (alerts * 1e9) / ns)),
      ratio: spreadOf(normalizeNs.map((ns, run) => ns / parseNs[run]!)),
    };
    return result;
  });

  const table: Table = {
    headers: ["fixture", "source", "bytes", "alerts", "JSON.parse µs", "normalize µs", "normalize alerts/s", "normalize / parse"],
    rows: results.map((result) => [
      result.fixture,
      result.source,
      formatNumber(result.bytes),
      String(result.alerts),
      formatSpread(result.parseUs, 1),
      formatSpread(result.normalizeUs, 1),
      formatSpread(result.alertsPerSecond),
      `${formatSpread(result.ratio, 1)}×`,
    ]),
  };

  const storm = results.find((result) => result.fixture === STORM_FIXTURE)!;
  const others = results.filter((result) => result !== storm);
  const overTarget = others.filter((result) => result.ratio.median > MAX_PARSE_RATIO);
  const worst = others.reduce((a, b) => (b.ratio.median > a.ratio.median ? b : a));
  const targets: TargetCheck[] = [
    {
      subject: "normalize the 500-alert storm / JSON.parse of it",
      target: `≤ ${MAX_PARSE_RATIO}×`,
      measured: `${formatNumber(storm.ratio.median, 1)}× (${formatNumber(storm.alertsPerSecond.median)} alerts/s)`,
      met: storm.ratio.median <= MAX_PARSE_RATIO,
      missReason:
        "JSON.parse only builds the objects. In one CPU profile of `planDelivery` on the storm " +
        "(`node --cpu-prof`), about a quarter of the time was garbage collection of the objects it builds, " +
        "a sixth the zod schema of the delivery, a third building the Alert objects (labels, times, " +
        "resources) and a sixth the UUIDv5 ids (SHA-1 over the identity JSON).",
    },
    {
      subject: "normalize / JSON.parse for each other sample delivery",
      target: `≤ ${MAX_PARSE_RATIO}×`,
      measured: `${others.length - overTarget.length} of ${others.length} within; worst ${worst.fixture} at ${formatNumber(worst.ratio.median, 1)}×`,
      met: overTarget.length === 0,
      missReason:
        `Over the target: ${overTarget.map((result) => result.fixture).join(", ")}. These deliveries are a few hundred ` +
        "bytes to a few KB, so JSON.parse takes one or two microseconds while normalize has a fixed cost per " +
        "delivery and per alert (schema check, Alert object, UUIDv5 id) that does not shrink with the body." +
        (overTarget.some((result) => result.fixture === CEF_LINE_FIXTURE) ? CEF_LINE_MISS : ""),
    },
  ];

  return {
    id: 1,
    title: "Normalize throughput against JSON.parse",
    method: [
      "For each sample delivery under `test/fixtures/payloads/`, one loop runs `JSON.parse` on the request " +
        "body and another runs `planDelivery` (the source's zod schema, `normalize`, the `action_instance_id` " +
        "of each alert and the skip decision) on the parsed body, in the same process, back to back. " +
        `Each loop runs about ${options.runMs} ms per run, after a warm-up; the figures are the median ` +
        `(min–max) of ${options.runs} runs. alerts/s counts every planned alert, skipped ones included.`,
    ],
    tables: [table],
    targets,
    reproduce: ["npm run bench -- --only 1"],
  };
}
