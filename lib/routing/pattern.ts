import * as z from "zod";

/**
 * One value pattern of a routing condition. A plain string matches exactly. The object forms
 * match by glob (`*` is any run of characters, `?` is one character), by a regular expression
 * that must match the whole value, or by the presence of the value.
 *
 * @example
 * "prod"                      # exact
 * { glob: "sec-*" }
 * { regex: "k8s-(dev|prod)", flags: "i" }
 * { exists: false }           # the value is missing
 */
const PATTERN_HELP = "must be a string, or an object with one of exact, glob, regex (with optional flags) or exists";

export const patternSchema = z.union([
  z.string(),
  z.strictObject({ exact: z.string() }),
  z.strictObject({ glob: z.string().min(1, "must not be empty") }),
  z.strictObject({
    regex: z
      .string()
      .min(1, "must not be empty")
      .max(1_000, "must be at most 1000 characters")
      .superRefine((source, context) => {
        try {
          new RegExp(source, "u");
        } catch (error) {
          context.addIssue({ code: "custom", message: `is not a valid regular expression: ${(error as Error).message}` });
        }
      }),
    flags: z
      .string()
      .regex(/^(?!.*(.).*\1)[ims]*$/, "may only contain each of the flags i, m and s once")
      .optional(),
  }),
  z.strictObject({ exists: z.boolean() }),
], { error: PATTERN_HELP });

/** A pattern or a non-empty list of them; a list matches when any of its patterns matches. */
export const patternListSchema = z.union([patternSchema, z.array(patternSchema).min(1, "must list at least one pattern")], {
  error: `${PATTERN_HELP}, or a list of those`,
});

export type Pattern = z.infer<typeof patternSchema>;
export type PatternList = z.infer<typeof patternListSchema>;

/** A compiled pattern list, tested against every value a condition reads. */
export interface ValueMatcher {
  /**
   * Tells whether the values satisfy the list. A value pattern matches when any value matches;
   * `{exists: true}` needs at least one value and `{exists: false}` needs none.
   */
  test(values: readonly string[]): boolean;
  /** The patterns as people read them, such as `"prod" or glob "sec-*"`. */
  description: string;
}

/** Compiles a validated pattern list; call it once when the routing file loads. */
export function compilePatternList(list: PatternList): ValueMatcher {
  const patterns = Array.isArray(list) ? list : [list];
  const tests = patterns.map(compilePattern);
  return {
    test: (values) => tests.some((test) => test(values)),
    description: patterns.map(describePattern).join(" or "),
  };
}

function compilePattern(pattern: Pattern): (values: readonly string[]) => boolean {
  if (typeof pattern === "string") return (values) => values.includes(pattern);
  if ("exact" in pattern) return (values) => values.includes(pattern.exact);
  if ("exists" in pattern) return (values) => (values.length > 0) === pattern.exists;
  const expression = "glob" in pattern ? globToRegExp(pattern.glob) : new RegExp(`^(?:${pattern.regex})$`, `u${pattern.flags ?? ""}`);
  return (values) => values.some((value) => expression.test(value));
}

/** Turns a glob into an anchored expression: `*` is any run of characters, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const character of glob) {
    if (character === "*") source += ".*";
    else if (character === "?") source += ".";
    else source += character.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "su");
}

function describePattern(pattern: Pattern): string {
  if (typeof pattern === "string") return JSON.stringify(pattern);
  if ("exact" in pattern) return JSON.stringify(pattern.exact);
  if ("exists" in pattern) return pattern.exists ? "present" : "absent";
  if ("glob" in pattern) return `glob ${JSON.stringify(pattern.glob)}`;
  return `regex /${pattern.regex}/${pattern.flags ?? ""}`;
}
