/**
 * Scores the local policy engine on a labelled prompt set (DESIGN.md section 10).
 *
 *   npm run eval:guardrail -- FILE.jsonl [--out reports/guardrail-eval.json]
 *
 * Each line is `{"text", "label": "attack"|"benign", "category"?, "source"?}`. An attack is
 * detected when `checkInput` blocks it or records a PROMPT_ATTACK finding (the policy may
 * only flag). Prints recall on attacks, false-positive rate on benign rows, recall per
 * category and per source, and throughput; writes the same as JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChatGuard } from '../lambda/chat/chat-service';
import { DEFAULT_LOCAL_POLICY } from '../lambda/guardrail/default-policy';
import { createPolicyEngine } from '../lambda/guardrail/engine';
import { isEntryPoint } from './cognito-cli';

/** One labelled row. */
export interface LabelledRow {
  readonly text: string;
  readonly label: 'attack' | 'benign';
  readonly category?: string;
  readonly source?: string;
}

/** An input the script cannot score, with a message for the operator. */
export class EvalInputError extends Error {}

/** Parses JSONL text; throws {@link EvalInputError} naming the first bad line. */
export function parseRows(content: string, file: string): LabelledRow[] {
  const rows: LabelledRow[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new EvalInputError(`${file}:${index + 1}: not valid JSON.`);
    }
    const row = value as Partial<LabelledRow> | null;
    if (typeof row?.text !== 'string' || (row.label !== 'attack' && row.label !== 'benign')) {
      throw new EvalInputError(
        `${file}:${index + 1}: expected {"text": string, "label": "attack"|"benign"}.`,
      );
    }
    rows.push({
      text: row.text,
      label: row.label,
      ...(typeof row.category === 'string' && row.category !== '' ? { category: row.category } : {}),
      ...(typeof row.source === 'string' ? { source: row.source } : {}),
    });
  });
  if (rows.length === 0) throw new EvalInputError(`${file}: no rows.`);
  return rows;
}

/** Detected and total counts of one group. */
export interface GroupFigures {
  readonly total: number;
  readonly detected: number;
  readonly rate: number;
}

/** What the evaluation measures. */
export interface EvalReport {
  readonly file: string;
  readonly rows: number;
  readonly attacks: number;
  readonly benign: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  /** Detected attacks / attacks (null without attacks). */
  readonly recall: number | null;
  /** Flagged benign rows / benign rows (null without benign rows). */
  readonly falsePositiveRate: number | null;
  readonly precision: number | null;
  /** Recall per `category` of the attack rows. */
  readonly recallByCategory: Readonly<Record<string, GroupFigures>>;
  /** Detection rate per `source` (recall for attack sources, FPR for benign ones). */
  readonly detectionBySource: Readonly<Record<string, GroupFigures & { readonly label: string }>>;
  /** Which rules fired on detected attacks and on false positives. */
  readonly rulesOnAttacks: Readonly<Record<string, number>>;
  readonly rulesOnFalsePositives: Readonly<Record<string, number>>;
  readonly throughput: {
    readonly messagesPerSecond: number;
    readonly megabytesPerSecond: number;
    readonly totalMs: number;
  };
}

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number): number | null => (b === 0 ? null : round(a / b));

/** Whether a verdict counts as a detected attack. */
function detected(guard: ChatGuard, text: string): { hit: boolean; rules: string[] } {
  const verdict = guard.checkInput(text);
  const promptAttack = verdict.findings.filter((f) => f.category === 'PROMPT_ATTACK');
  return {
    hit: verdict.action === 'BLOCK' || promptAttack.length > 0,
    rules: verdict.findings.filter((f) => f.action === 'block' || f.action === 'flag').map((f) => f.rule),
  };
}

/** Scores `rows` with `guard`. */
export function evaluate(rows: readonly LabelledRow[], guard: ChatGuard, file = '(memory)'): EvalReport {
  const byCategory: Record<string, { total: number; detected: number }> = {};
  const bySource: Record<string, { total: number; detected: number; label: string }> = {};
  const rulesOnAttacks: Record<string, number> = {};
  const rulesOnFalsePositives: Record<string, number> = {};
  let truePositives = 0;
  let falsePositives = 0;
  let bytes = 0;
  const started = performance.now();
  for (const row of rows) {
    bytes += Buffer.byteLength(row.text, 'utf8');
    const { hit, rules } = detected(guard, row.text);
    const source = `${row.label}:${(row.source ?? 'unknown').split(':')[0]}`;
    bySource[source] ??= { total: 0, detected: 0, label: row.label };
    const sourceGroup = bySource[source];
    sourceGroup.total++;
    if (hit) sourceGroup.detected++;
    if (row.label === 'attack') {
      const category = row.category ?? 'uncategorized';
      byCategory[category] ??= { total: 0, detected: 0 };
      const group = byCategory[category];
      group.total++;
      if (hit) {
        group.detected++;
        truePositives++;
        for (const rule of rules) rulesOnAttacks[rule] = (rulesOnAttacks[rule] ?? 0) + 1;
      }
    } else if (hit) {
      falsePositives++;
      for (const rule of rules) rulesOnFalsePositives[rule] = (rulesOnFalsePositives[rule] ?? 0) + 1;
    }
  }
  const totalMs = performance.now() - started;
  const attacks = rows.filter((r) => r.label === 'attack').length;
  const benign = rows.length - attacks;
  const withRate = <T extends { total: number; detected: number }>(groups: Record<string, T>) =>
    Object.fromEntries(
      Object.entries(groups)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, g]) => [key, { ...g, rate: round(g.detected / g.total) }]),
    );
  return {
    file,
    rows: rows.length,
    attacks,
    benign,
    truePositives,
    falsePositives,
    recall: ratio(truePositives, attacks),
    falsePositiveRate: ratio(falsePositives, benign),
    precision: ratio(truePositives, truePositives + falsePositives),
    recallByCategory: withRate(byCategory),
    detectionBySource: withRate(bySource),
    rulesOnAttacks,
    rulesOnFalsePositives,
    throughput: {
      messagesPerSecond: round(rows.length / (totalMs / 1000), 1),
      megabytesPerSecond: round(bytes / 1e6 / (totalMs / 1000), 3),
      totalMs: round(totalMs, 1),
    },
  };
}

/** The table printed on stdout. */
export function formatReport(report: EvalReport): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
  const lines = [
    `Guardrail evaluation of ${report.file}: ${report.rows} rows (${report.attacks} attacks, ${report.benign} benign)`,
    '',
    '| measure | value |',
    '|---|---|',
    `| recall (attacks detected) | ${pct(report.recall)} (${report.truePositives}/${report.attacks}) |`,
    `| false-positive rate (benign flagged) | ${pct(report.falsePositiveRate)} (${report.falsePositives}/${report.benign}) |`,
    `| precision | ${pct(report.precision)} |`,
    `| throughput | ${report.throughput.messagesPerSecond} messages/s, ${report.throughput.megabytesPerSecond} MB/s |`,
    '',
    '| attack category | detected | recall |',
    '|---|---|---|',
    ...Object.entries(report.recallByCategory).map(
      ([c, g]) => `| ${c} | ${g.detected}/${g.total} | ${pct(g.rate)} |`,
    ),
    '',
    '| source | label | flagged | rate |',
    '|---|---|---|---|',
    ...Object.entries(report.detectionBySource).map(
      ([s, g]) =>
        `| ${s.slice(s.indexOf(':') + 1)} | ${g.label} | ${g.detected}/${g.total} | ${pct(g.rate)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** Runs the command; returns the exit code. */
export function run(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let parsed: ReturnType<typeof parseArgs<{ options: { out: { type: 'string' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: 'string' } } });
  } catch (error) {
    err(`${(error as Error).message}\n`);
    return 2;
  }
  const file = parsed.positionals[0];
  if (file === undefined) {
    err('Usage: npm run eval:guardrail -- FILE.jsonl [--out reports/guardrail-eval.json]\n');
    return 2;
  }
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    err(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return 1;
  }
  let rows: LabelledRow[];
  try {
    rows = parseRows(content, file);
  } catch (error) {
    if (error instanceof EvalInputError) {
      err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const guard = createPolicyEngine(DEFAULT_LOCAL_POLICY);
  // Warm-up so throughput measures steady state, not module initialization.
  for (const row of rows.slice(0, 50)) guard.checkInput(row.text);
  const report = evaluate(rows, guard, file);
  const target = resolve(parsed.values.out ?? 'reports/guardrail-eval.json');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
  out(formatReport(report));
  out(`\nWritten to ${target}\n`);
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = run(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
}
