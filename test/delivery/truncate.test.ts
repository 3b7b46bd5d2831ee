import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertSchema, type Alert } from "../../lib/alert/schema";
import type { StartJob } from "../../lib/delivery/job";
import { fitJob, truncateText } from "../../lib/delivery/truncate";
import { jobFor } from "./harness";

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

/** The paths that fitJob may change; every other value of the job must stay as it was. */
const SHORTENABLE = /^(description|title|labels|simulation|close_comment|remediation\.recommendation|process\[\d+\]\.process_(parent_|child_)?cmdline|file_info\[\d+\]\.file_content)$/;

/** Removes the shortenable strings of a content copy and counts them. */
function withoutShortenable(content: Alert): { rest: Alert; count: number } {
  const rest = structuredClone(content) as Record<string, any>;
  let count = 0;
  const drop = (holder: Record<string, unknown> | undefined, key: string) => {
    if (typeof holder?.[key] !== "string") return;
    delete holder[key];
    count += 1;
  };
  for (const key of ["description", "title", "labels", "simulation", "close_comment"]) drop(rest, key);
  drop(rest.remediation, "recommendation");
  for (const entry of rest.process ?? []) for (const key of ["process_cmdline", "process_parent_cmdline", "process_child_cmdline"]) drop(entry, key);
  for (const entry of rest.file_info ?? []) drop(entry, "file_content");
  return { rest: rest as Alert, count };
}

/** Lists every leaf of a value with its path, such as `["process[0].process_pid", 42]`. */
function leaves(value: unknown, path = ""): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, `${path}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => leaves(item, path === "" ? key : `${path}.${key}`));
  }
  return [[path, value]];
}

describe("truncateText", () => {
  it("keeps the longest prefix that fits with the marker", () => {
    const shortened = truncateText("a".repeat(2_000), 1_024);

    expect(shortened.text).toBe(`${"a".repeat(996)}… [truncated 1004 bytes]`);
    expect(shortened.removedBytes).toBe(1004);
    expect(jsonBytes(shortened.text)).toBe(1_024);
  });

  it("never splits a surrogate pair", () => {
    const shortened = truncateText("😀".repeat(600), 1_024);

    expect(shortened.text).toBe(`${"😀".repeat(249)}… [truncated 1404 bytes]`);
    expect(shortened.removedBytes).toBe(1404);
  });

  it("counts JSON escapes against the limit", () => {
    const shortened = truncateText('"'.repeat(2_000), 1_024);

    expect(jsonBytes(shortened.text)).toBeLessThanOrEqual(1_024);
    expect(shortened.text).toBe(`${'"'.repeat(498)}… [truncated 1502 bytes]`);
  });
});

describe("fitJob", () => {
  it("returns a job that fits unchanged", () => {
    const job = jobFor(1, { content: { title: "short", description: "also short" } });

    const fit = fitJob(job, 10_000);

    expect(fit).toEqual({ fits: true, job, truncated: [] });
    expect((fit as { job: StartJob }).job).toBe(job);
  });

  it("shortens the description first", () => {
    const job = jobFor(1, { content: { title: "t", description: "d".repeat(50_000), labels: "l".repeat(40_000) } });

    const fit = fitJob(job, 60_000);

    expect(fit.fits).toBe(true);
    if (!fit.fits) return;
    expect(fit.truncated.map((field) => field.field)).toEqual(["description"]);
    expect(fit.job.content.labels).toBe("l".repeat(40_000));
    expect(fit.job.content.description).toMatch(/^d+… \[truncated \d+ bytes\]$/);
    expect(jsonBytes(fit.job)).toBeLessThanOrEqual(60_000);
    expect(jsonBytes(fit.job)).toBeGreaterThan(59_900);
    expect(job.content.description).toBe("d".repeat(50_000));
  });

  it("then shortens the longest other text", () => {
    const job = jobFor(1, {
      content: {
        description: "d".repeat(5_000),
        labels: "l".repeat(20_000),
        process: [{ process_cmdline: "c".repeat(30_000), process_pid: 42 }],
      },
    });

    const fit = fitJob(job, 20_000);

    expect(fit.fits).toBe(true);
    if (!fit.fits) return;
    expect(fit.truncated.map((field) => field.field)).toEqual(["description", "process[0].process_cmdline", "labels"]);
    expect(fit.job.content.process![0]!.process_pid).toBe(42);
    expect(jsonBytes(fit.job.content.description)).toBe(1_024);
    expect(jsonBytes(fit.job.content.process![0]!.process_cmdline)).toBe(1_024);
  });

  it("reports the largest field when only protected fields are large", () => {
    const job = jobFor(1, { content: { description: "d".repeat(10_000), source_url: `https://example.com/${"u".repeat(50_000)}` } });

    const fit = fitJob(job, 20_000);

    expect(fit).toMatchObject({ fits: false, field: "source_url", fieldBytes: 50_022 });
  });

  it("fits, is deterministic and leaves protected fields alone for any alert", () => {
    // fast-check keeps generated strings short, so long texts repeat a short random piece.
    const longText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.tuple(fc.string({ unit: "binary", minLength: 1, maxLength: 6 }), fc.integer({ min: 100, max: 4_000 })).map(([piece, times]) => piece.repeat(times)),
    );
    const alerts = fc.record(
      {
        id: fc.uuid(),
        title: longText,
        description: longText,
        labels: longText,
        close_comment: longText,
        source_url: fc.string({ maxLength: 300 }),
        first_observed_time: fc.constant("2026-01-15T08:30:00.000Z"),
        severity: fc.constantFrom("Tips", "Low", "Medium", "High", "Fatal"),
        ipdrr_phase: fc.constant("Contain\uFF0CEradication& Recovery"),
        remediation: fc.record({ recommendation: longText, url: fc.string({ maxLength: 100 }) }, { requiredKeys: [] }),
        process: fc.array(fc.record({ process_cmdline: longText, process_pid: fc.nat() }, { requiredKeys: [] }), { maxLength: 3 }),
        file_info: fc.array(fc.record({ file_content: longText, file_sha256: fc.string({ maxLength: 64 }) }, { requiredKeys: [] }), { maxLength: 2 }),
        system_info: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 200 }), { maxKeys: 3 }),
      },
      { requiredKeys: ["id", "severity"] },
    ) as fc.Arbitrary<Alert>;

    fc.assert(
      fc.property(alerts, fc.integer({ min: 4_000, max: 40_000 }), (content, maxBytes) => {
        const job: StartJob = jobFor(7, { content });
        const before = structuredClone(job);

        const fit = fitJob(job, maxBytes);

        expect(job).toEqual(before);
        expect(fitJob(job, maxBytes)).toEqual(fit);
        // Each shortened field keeps at most 1 KiB, and its key takes under 60 more bytes.
        const { rest, count } = withoutShortenable(content);
        const worstCaseBytes = jsonBytes({ ...job, content: rest }) + count * (1_024 + 60);
        if (!fit.fits) {
          expect(fit.bytes).toBeGreaterThan(maxBytes);
          expect(worstCaseBytes).toBeGreaterThan(maxBytes);
          return;
        }
        expect(jsonBytes(fit.job)).toBeLessThanOrEqual(maxBytes);
        expect(alertSchema.safeParse(fit.job.content).success).toBe(true);
        const { content: fittedContent, ...fittedRest } = fit.job;
        const { content: originalContent, ...originalRest } = job;
        expect(fittedRest).toEqual(originalRest);
        const original = new Map(leaves(originalContent));
        for (const [path, value] of leaves(fittedContent)) {
          if (value === original.get(path)) continue;
          expect(path).toMatch(SHORTENABLE);
          expect(value).toMatch(/… \[truncated \d+ bytes\]$/);
        }
        expect(leaves(fittedContent).map(([path]) => path)).toEqual([...original.keys()]);
      }),
      { numRuns: 200 },
    );
  });
});
