import { Buffer } from "node:buffer";
import type { Alert } from "../alert/schema";
import { formatPath } from "../sources/parse";
import type { StartJob } from "./job";

/**
 * Smallest JSON size, in bytes, that a shortened field keeps, marker included. Fields at or below
 * it are never shortened, because the marker would take most of what is left.
 */
export const MIN_SHORTENED_FIELD_BYTES = 1_024;

/** A free-text field that {@link fitJob} shortened. */
export interface TruncatedField {
  /** Path in the SecMaster Alert content, such as `description` or `process[0].process_cmdline`. */
  field: string;
  /** UTF-8 bytes of the original text that were removed. */
  removedBytes: number;
}

/** Outcome of {@link fitJob}. */
export type FitResult =
  | {
      fits: true;
      /** The input job when nothing was shortened, else a copy with shortened content. */
      job: StartJob;
      /** Shortened fields in the order they were shortened; empty when the job fitted as it was. */
      truncated: TruncatedField[];
    }
  | {
      fits: false;
      /** JSON size of the job after every allowed field was shortened, in bytes. */
      bytes: number;
      /** The largest top-level Alert field after shortening, the one to make smaller. */
      field: string;
      /** JSON size of that field, in bytes. */
      fieldBytes: number;
    };

/** Top-level Alert fields of display text, after `description`. */
const TOP_LEVEL_TEXT_FIELDS = ["title", "labels", "simulation", "close_comment"] as const;
const PROCESS_TEXT_FIELDS = ["process_cmdline", "process_parent_cmdline", "process_child_cmdline"] as const;

/**
 * Shortens the free-text fields of a job's Alert content until the job's JSON takes at most
 * `maxBytes` bytes of UTF-8. `description` is shortened first, then the other free-text fields,
 * the longest first: `title`, `labels`, `simulation`, `close_comment`,
 * `remediation.recommendation`, the command lines of `process` entries and
 * `file_info[].file_content`. Each shortened text ends with a marker such as
 * `… [truncated 40213 bytes]`. Ids, times, severity, enum fields, URLs, names, addresses, hashes,
 * `system_info`, `system_alert_table` and everything outside the content (`actionInstanceId`
 * included) are never changed.
 *
 * The result depends only on the job and `maxBytes`, so the same alert always yields the same
 * body. The input job is not modified.
 */
export function fitJob(job: StartJob, maxBytes: number): FitResult {
  let overBytes = jsonBytes(job) - maxBytes;
  if (overBytes <= 0) return { fits: true, job, truncated: [] };

  const content = structuredClone(job.content);
  const truncated: TruncatedField[] = [];
  for (const candidate of textCandidates(content)) {
    if (overBytes <= 0) break;
    const targetBytes = Math.max(candidate.bytes - overBytes, MIN_SHORTENED_FIELD_BYTES);
    if (targetBytes >= candidate.bytes) continue;
    const shortened = truncateText(candidate.value, targetBytes);
    candidate.set(shortened.text);
    // A string's JSON text is the same inside the job as on its own, so the job shrinks by exactly this.
    overBytes -= candidate.bytes - jsonBytes(shortened.text);
    truncated.push({ field: candidate.field, removedBytes: shortened.removedBytes });
  }

  const fitted: StartJob = { ...job, content };
  const bytes = jsonBytes(fitted);
  if (bytes <= maxBytes) return { fits: true, job: fitted, truncated };
  const largest = largestField(content);
  return { fits: false, bytes, field: largest.field, fieldBytes: largest.bytes };
}

/** Returns the marker that ends a text from which `removedBytes` UTF-8 bytes were cut. */
export function truncationMarker(removedBytes: number): string {
  return `… [truncated ${removedBytes} bytes]`;
}

/**
 * Cuts `text` to its longest prefix whose JSON string, with the marker appended, takes at most
 * `maxJsonBytes` bytes. The cut never splits a surrogate pair. `maxJsonBytes` must leave room
 * for the marker, which {@link MIN_SHORTENED_FIELD_BYTES} always does.
 */
export function truncateText(text: string, maxJsonBytes: number): { text: string; removedBytes: number } {
  const totalBytes = Buffer.byteLength(text, "utf8");
  const build = (end: number) => {
    const prefix = text.slice(0, end);
    const removedBytes = totalBytes - Buffer.byteLength(prefix, "utf8");
    return { text: prefix + truncationMarker(removedBytes), removedBytes };
  };
  // The size grows with the prefix length: each added character adds at least one byte, and the
  // marker's count loses at most one digit at a time. So a binary search finds the longest prefix.
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (jsonBytes(build(pairSafeEnd(text, middle)).text) <= maxJsonBytes) low = middle;
    else high = middle - 1;
  }
  return build(pairSafeEnd(text, low));
}

// Moves a cut that would fall between the two halves of a surrogate pair to before the pair.
function pairSafeEnd(text: string, end: number): number {
  if (end <= 0 || end >= text.length) return end;
  const before = text.charCodeAt(end - 1);
  const after = text.charCodeAt(end);
  const splitsPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
  return splitsPair ? end - 1 : end;
}

interface TextCandidate {
  field: string;
  value: string;
  bytes: number;
  set(text: string): void;
}

/** Lists the content's shortenable strings: `description` first, then the rest longest first. */
function textCandidates(content: Alert): TextCandidate[] {
  const top = content as Record<string, unknown>;
  const others: TextCandidate[] = [];
  const add = (path: readonly (string | number)[], holder: Record<string, unknown>, key: string) => {
    const found = candidateAt(path, holder, key);
    if (found !== undefined) others.push(found);
  };
  for (const key of TOP_LEVEL_TEXT_FIELDS) add([key], top, key);
  if (content.remediation !== undefined) add(["remediation", "recommendation"], content.remediation, "recommendation");
  content.process?.forEach((entry, index) => {
    for (const key of PROCESS_TEXT_FIELDS) add(["process", index, key], entry, key);
  });
  content.file_info?.forEach((entry, index) => add(["file_info", index, "file_content"], entry, "file_content"));
  // Ties are broken by path, so the order never depends on the order of the object's keys.
  others.sort(byBytesThenField);

  const description = candidateAt(["description"], top, "description");
  return description === undefined ? others : [description, ...others];
}

// Longest first, then by field path in code-unit order.
function byBytesThenField(left: TextCandidate, right: TextCandidate): number {
  if (left.bytes !== right.bytes) return right.bytes - left.bytes;
  if (left.field === right.field) return 0;
  return left.field < right.field ? -1 : 1;
}

function candidateAt(path: readonly (string | number)[], holder: Record<string, unknown>, key: string): TextCandidate | undefined {
  const value = holder[key];
  if (typeof value !== "string") return undefined;
  return {
    field: formatPath(path),
    value,
    bytes: jsonBytes(value),
    set: (text) => {
      holder[key] = text;
    },
  };
}

function largestField(content: Alert): { field: string; bytes: number } {
  let largest = { field: "(content)", bytes: 0 };
  for (const [key, value] of Object.entries(content)) {
    const bytes = jsonBytes(value);
    if (bytes > largest.bytes) largest = { field: key, bytes };
  }
  return largest;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}
