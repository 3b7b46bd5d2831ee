import { cpus, loadavg, totalmem } from "node:os";

/** A table of a figure: header cells and rows of already formatted cells. */
export interface Table {
  caption?: string;
  headers: string[];
  rows: string[][];
}

/** One target of a figure and whether the median of this run meets it. */
export interface TargetCheck {
  /** Subject of the comparison, such as "storm: normalize time / JSON.parse time". */
  subject: string;
  target: string;
  measured: string;
  met: boolean;
  /** Explanation of where the time goes, shown when the target is missed. */
  missReason?: string;
}

/** The result of one figure of the benchmark, ready to render. */
export interface FigureReport {
  id: number;
  title: string;
  /** Paragraphs on what was measured and how. */
  method: string[];
  tables: Table[];
  targets: TargetCheck[];
  notes?: string[];
  /** Commands that reproduce the figure alone. */
  reproduce: string[];
}

/** The machine and runtime the figures were measured on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  /** One-minute load average before the first figure, which is other processes' work on the cores. */
  loadAverageAtStart: number;
}

/** Reads the machine description from `node:os` and `process`. */
export function describeMachine(now: Date = new Date()): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? "unknown",
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: now.toISOString(),
    loadAverageAtStart: loadavg()[0]!,
  };
}

/** Renders a Markdown table, escaping the pipes inside cells. */
export function renderTable(table: Table): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const lines = [
    `| ${table.headers.map(escape).join(" | ")} |`,
    `|${table.headers.map(() => "---").join("|")}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ];
  return table.caption === undefined ? lines.join("\n") : `${table.caption}\n\n${lines.join("\n")}`;
}

/** Renders the whole `BENCHMARKS.md` page. */
export function renderReport(machine: MachineInfo, figures: readonly FigureReport[], preface: readonly string[]): string {
  const summary: Table = {
    headers: ["#", "figure", "target", "measured (median)", "met"],
    rows: figures.flatMap((figure) =>
      figure.targets.map((check) => [String(figure.id), check.subject, check.target, check.measured, check.met ? "yes" : "**no**"]),
    ),
  };

  const sections = figures.map((figure) => {
    const parts = [`## ${figure.id}. ${figure.title}`, ...figure.method];
    for (const table of figure.tables) parts.push(renderTable(table));
    const targetLines = figure.targets.map((check) => {
      const verdict = check.met ? "met" : "**not met**";
      const reason = check.met || check.missReason === undefined ? "" : ` ${check.missReason}`;
      return `- ${check.subject}: target ${check.target}, measured ${check.measured}, ${verdict}.${reason}`;
    });
    parts.push(`Targets:\n\n${targetLines.join("\n")}`);
    if (figure.notes !== undefined && figure.notes.length > 0) parts.push(...figure.notes);
    parts.push(`Reproduce:\n\n\`\`\`sh\n${figure.reproduce.join("\n")}\n\`\`\``);
    return parts.join("\n\n");
  });

  const machineLines = [
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- Node.js: ${machine.node} (${machine.platform})`,
    `- Date: ${machine.date}`,
    `- One-minute load average before the run: ${machine.loadAverageAtStart.toFixed(2)}, the work of other ` +
      "processes that shared the cores with the benchmark, which can widen the min–max ranges",
  ];
  return [
    "# Benchmarks",
    ...preface,
    `## Machine\n\n${machineLines.join("\n")}`,
    `## Summary\n\n${renderTable(summary)}`,
    ...sections,
  ].join("\n\n") + "\n";
}
