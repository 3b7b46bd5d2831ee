import { InvalidInputError } from "../errors";
import { headerValue, type HeaderMap } from "./headers";

/** Parser chosen for a body. `lines` is raw text with one item per line, such as CEF events. */
export type BodyFormat = "json" | "form" | "lines";

/**
 * Sources that may send JSON as `text/plain`: Amazon SNS posts `text/plain; charset=UTF-8` to
 * HTTP(S) subscriptions, and SMN deliveries go to the same endpoints.
 */
export const TEXT_PLAIN_SOURCES: ReadonlySet<string> = new Set(["cloudwatch", "guardduty", "securityhub", "huaweicloud-ces"]);

/** Sources that may send `application/x-www-form-urlencoded` (Datadog's "Encode as form"). */
export const FORM_SOURCES: ReadonlySet<string> = new Set(["datadog"]);

/**
 * Returns how to parse the body of a source from its `Content-Type`: JSON for `application/json`,
 * `application/*+json` and a missing header; JSON for `text/plain` from {@link TEXT_PLAIN_SOURCES};
 * form fields for form bodies from {@link FORM_SOURCES}; lines for `text/plain` when
 * `options.textLines` is set (generic sources in the `cef` format). A charset other than UTF-8 is
 * rejected.
 *
 * @throws InvalidInputError `BRIDGE.CONTENT_TYPE_UNSUPPORTED` (415) for anything else.
 */
export function bodyFormatOf(headers: HeaderMap, sourceId: string, options: { textLines?: boolean } = {}): BodyFormat {
  const textLines = options.textLines === true;
  const header = headerValue(headers, "content-type");
  if (header === undefined || header.trim() === "") return "json";
  const [mediaType = "", ...parameters] = header.toLowerCase().split(";").map((part) => part.trim());
  const charset = parameters.find((parameter) => parameter.startsWith("charset="))?.slice("charset=".length).replace(/"/g, "");
  const utf8 = charset === undefined || charset === "utf-8" || charset === "utf8";

  let format: BodyFormat | undefined;
  if (mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) format = "json";
  else if (mediaType === "text/plain" && TEXT_PLAIN_SOURCES.has(sourceId)) format = "json";
  else if (mediaType === "text/plain" && textLines) format = "lines";
  else if (mediaType === "application/x-www-form-urlencoded" && FORM_SOURCES.has(sourceId)) format = "form";

  if (format === undefined || !utf8) {
    const textPlain = TEXT_PLAIN_SOURCES.has(sourceId) || textLines;
    const accepted = ["application/json", ...(textPlain ? ["text/plain"] : []), ...(FORM_SOURCES.has(sourceId) ? ["application/x-www-form-urlencoded"] : [])];
    throw new InvalidInputError("BRIDGE.CONTENT_TYPE_UNSUPPORTED", `content type ${JSON.stringify(header.slice(0, 80))} is not accepted for source ${sourceId}`, {
      statusCode: 415,
      field: "headers.content-type",
      fix: `send ${accepted.join(" or ")} encoded as UTF-8`,
    });
  }
  return format;
}

/**
 * Splits a `text/plain` body into its non-blank lines. A single line is returned as a list of
 * one too, so that errors name every line by its index, such as `[0]`. Line breaks may be LF or
 * CRLF. Each line must fit `maxStringLength`, as a JSON string must.
 *
 * @throws InvalidInputError `BRIDGE.JSON_STRING_TOO_LONG` (413) naming the line's index.
 */
export function parseTextLines(text: string, maxStringLength: number): string[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  for (const [index, line] of lines.entries()) {
    if (line.length <= maxStringLength) continue;
    throw new InvalidInputError("BRIDGE.JSON_STRING_TOO_LONG", `the body line at [${index}] is ${line.length} characters long; the limit is ${maxStringLength}`, {
      statusCode: 413,
      field: `[${index}]`,
      fix: "shorten the line or raise BRIDGE_MAX_STRING_LENGTH",
    });
  }
  return lines;
}
