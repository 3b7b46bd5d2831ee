/**
 * Runs the benchmark figures and writes `BENCHMARKS.md`.
 *
 *   npm run bench                      all figures, writes BENCHMARKS.md
 *   npm run bench -- --only 2,3        some figures, prints the Markdown instead
 *   npm run bench -- --quick           fewer runs and alerts, for a smoke test
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

// The Powertools logger reads its level when its module loads, so this must run before the
// figures are imported. Logging every alert would measure the terminal, not the bridge.
process.env.LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";

const { describeMachine, renderReport } = await import("./report");
type FigureReport = import("./report").FigureReport;

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const selected = values.only === undefined ? undefined : new Set(values.only.split(",").map((id) => Number(id.trim())));
const quick = values.quick;

function dispatchOptions(runs: number, alerts: number, warmupAlerts: number) {
  return { runs: quick ? 1 : runs, alerts, concurrencies: [16, 64], warmupAlerts };
}

const FIGURES: { id: number; run: () => Promise<FigureReport> }[] = [
  {
    id: 1,
    run: async () => (await import("./normalize")).runNormalizeFigure({ runs: quick ? 3 : 5, runMs: quick ? 20 : 60 }),
  },
  {
    id: 2,
    run: async () => (await import("./signing")).runSigningFigure({ runs: quick ? 3 : 11, runMs: quick ? 50 : 100 }),
  },
  {
    id: 3,
    run: async () => (await import("./dispatch")).runDispatchFigure(dispatchOptions(5, quick ? 1_000 : 10_000, quick ? 200 : 5_000)),
  },
  {
    id: 4,
    run: async () => (await import("./idempotency")).runIdempotencyFigure(dispatchOptions(3, quick ? 500 : 1_000, quick ? 100 : 500)),
  },
  {
    id: 5,
    run: async () => (await import("./cold-start")).runColdStartFigure({ processes: quick ? 5 : 20 }),
  },
  {
    id: 6,
    run: async () =>
      (await import("./queue-ingest")).runQueueIngestFigure({
        runs: quick ? 2 : 5,
        invocations: quick ? 20 : 100,
        warmup: quick ? 5 : 20,
        rssProcesses: quick ? 1 : 3,
      }),
  },
];

const machine = describeMachine();
const reports: FigureReport[] = [];
for (const figure of FIGURES) {
  if (selected !== undefined && !selected.has(figure.id)) continue;
  const startedMs = Date.now();
  process.stderr.write(`figure ${figure.id}: running\n`);
  reports.push(await figure.run());
  process.stderr.write(`figure ${figure.id}: done in ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
}

const preface = [
  "Written by `npm run bench` (`bench/run.ts`). Every figure is the median of repeated runs with the " +
    "minimum and maximum in brackets, measured on the machine below while nothing else of the benchmark ran. " +
    "Logging is off (`LOG_LEVEL=SILENT`) so that the figures measure the bridge rather than the terminal.",
];
const markdown = renderReport(machine, reports, preface);
const out = values.out ?? (selected === undefined && !quick ? "BENCHMARKS.md" : undefined);
if (out === undefined) {
  process.stdout.write(markdown);
} else {
  writeFileSync(out, markdown);
  process.stderr.write(`wrote ${out}\n`);
}
