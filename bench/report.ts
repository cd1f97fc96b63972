/**
 * The results a scenario hands back, and their rendering as the Markdown that goes into
 * docs/PERFORMANCE.md between the generated-section markers.
 */
import type { Summary } from './stats.js';

/** A ratio of this row's median to a baseline row's median, both from this run. */
export interface Ratio {
  /** Short name of the baseline ("floor", "libvirt", "node -e 0"). */
  against: string;
  value: number;
}

/** One measured case, or one that could not be measured (with the reason). */
export interface ResultRow {
  label: string;
  summary?: Summary;
  ratios?: Ratio[];
  /** Why there is no summary. */
  skipped?: string;
  note?: string;
}

/** A table of rows with a caption. */
export interface ResultTable {
  caption: string;
  rows: ResultRow[];
}

/** A performance target (docs/PERFORMANCE.md), checked against this run's numbers. */
export interface TargetCheck {
  target: string;
  measured: string;
  /** undefined: could not be decided in this run. */
  met: boolean | undefined;
}

/** Everything one scenario produced. */
export interface ScenarioResult {
  title: string;
  /** Markdown paragraphs: what was measured and how. */
  notes: string[];
  tables: ResultTable[];
  targets: TargetCheck[];
}

/** Builds a row, with ratios of its median to the given baselines (skipping absent ones). */
export function row(label: string, summary: Summary, baselines: Record<string, Summary | undefined> = {}, note?: string): ResultRow {
  const ratios: Ratio[] = [];
  for (const [against, base] of Object.entries(baselines)) {
    if (base && base.median > 0) ratios.push({ against, value: summary.median / base.median });
  }
  return { label, summary, ratios, note };
}

/** A row for a case that could not be measured. */
export function skippedRow(label: string, reason: string): ResultRow {
  return { label, skipped: reason };
}

/** Formats milliseconds with a precision that fits their size. */
export function fmtMs(ms: number): string {
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** Formats a ratio as "0.42×". */
export function fmtRatio(r: number): string {
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Renders one table as Markdown. */
export function renderTable(table: ResultTable): string {
  const lines = [
    `**${table.caption}**`,
    '',
    '| case | median ms | min ms | max ms | runs | ratio (median / baseline median) |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of table.rows) {
    if (!r.summary) {
      lines.push(`| ${escapeCell(r.label)} | – | – | – | 0 | not measured: ${escapeCell(r.skipped ?? 'unknown')} |`);
      continue;
    }
    const ratios = (r.ratios ?? []).map((x) => `${fmtRatio(x.value)} ${x.against}`).join('; ');
    const tail = [ratios, r.note].filter((s) => s && s.length > 0).join(' — ');
    const s = r.summary;
    lines.push(`| ${escapeCell(r.label)} | ${fmtMs(s.median)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} | ${s.runs} | ${escapeCell(tail)} |`);
  }
  return lines.join('\n');
}

/** Renders the targets of every scenario as one table. */
export function renderTargets(targets: readonly TargetCheck[]): string {
  const lines = ['| target | measured in this run | met? |', '|---|---|---|'];
  for (const t of targets) {
    const met = t.met === undefined ? 'not measured' : t.met ? '**met**' : '**not met**';
    lines.push(`| ${escapeCell(t.target)} | ${escapeCell(t.measured)} | ${met} |`);
  }
  return lines.join('\n');
}

/** Renders a scenario: heading, notes, tables. */
export function renderScenario(result: ScenarioResult): string {
  const parts = [`### ${result.title}`, '', ...result.notes.flatMap((n) => [n, ''])];
  for (const t of result.tables) parts.push(renderTable(t), '');
  return parts.join('\n');
}
