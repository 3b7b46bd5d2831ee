import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT_SCHEMA, LOG_LEVELS } from "../../lib/config";

const REPOSITORY = new URL("../../", import.meta.url);

const readme = (name: string) => readFileSync(new URL(name, REPOSITORY), "utf8");

// Commands appear in inline code and as further code spans in a commands-table cell, such as
// `schedule run NAME --at TIME`. In sh blocks they start a line, and the `# comment` after them is
// prose that may be translated.
function cliCommands(markdown: string): string[] {
  const inline = [...markdown.matchAll(/`((?:npx )?secmaster-bridge [^`]+)`/g)].map((match) => match[1]!.trim());
  const tableCells = [...markdown.matchAll(/^\| (`npx secmaster-bridge [^|]*)\|/gm)].flatMap((match) =>
    [...match[1]!.matchAll(/`([^`]+)`/g)].map((span) => span[1]!.trim()),
  );
  const fenced = [...markdown.matchAll(/^(npx secmaster-bridge [^#\n]+)/gm)].map((match) => match[1]!.trim());
  return [...new Set([...inline, ...tableCells, ...fenced])].sort();
}

describe("settings tables", () => {
  const names = Object.keys(ENVIRONMENT_SCHEMA.shape);

  it.each(["README.md", "README.zh-CN.md"])("%s lists every variable the config reads", (file) => {
    const text = readme(file);
    const missing = names.filter((name) => !text.includes(`\`${name}\``));

    expect(missing).toEqual([]);
  });

  it.each(["README.md", "README.zh-CN.md"])("%s lists every LOG_LEVEL value", (file) => {
    const row = readme(file)
      .split("\n")
      .find((line) => line.startsWith("| `LOG_LEVEL` |"));

    expect(row).toBeDefined();
    expect(LOG_LEVELS.filter((level) => !row!.includes(`\`${level}\``))).toEqual([]);
  });
});

// Every page whose twin must agree on facts, as paths from the repository root.
function translatedPages(): string[] {
  const docs = readdirSync(new URL("docs/", REPOSITORY), { recursive: true, encoding: "utf8" })
    .map((path) => `docs/${path.split("\\").join("/")}`)
    .filter((path) => path.endsWith(".md") && !path.endsWith(".zh-CN.md"));
  return ["README.md", ...docs];
}

// Numbers as written, such as 4, 1.2 or 5,242,880. A translation may repeat a number, so the
// twins are compared as sets.
function numbersOf(markdown: string): string[] {
  return [...new Set(markdown.match(/\d+(?:[.,]\d+)*/g) ?? [])].sort();
}

describe("Chinese translations", () => {
  it("every docs page has a zh-CN twin", () => {
    const pages = readdirSync(new URL("docs/", REPOSITORY), { recursive: true, encoding: "utf8" })
      .map((path) => path.split("\\").join("/"))
      .filter((path) => path.endsWith(".md") && !path.endsWith(".zh-CN.md"));
    const withoutTwin = pages.filter((path) => !existsSync(new URL(`docs/${path.replace(/\.md$/, ".zh-CN.md")}`, REPOSITORY)));

    expect(pages).toContain("auth.md");
    expect(withoutTwin).toEqual([]);
  });

  it.each(translatedPages())("%s and its twin state the same numbers", (page) => {
    const twin = page.replace(/\.md$/, ".zh-CN.md");

    expect(numbersOf(readme(twin))).toEqual(numbersOf(readme(page)));
  });

  it("both READMEs list the same CLI commands", () => {
    const english = cliCommands(readme("README.md"));

    expect(english).toContain("npx secmaster-bridge normalize --source S FILE");
    expect(english).toContain("schedule run NAME --at TIME");
    expect(cliCommands(readme("README.zh-CN.md"))).toEqual(english);
  });
});
