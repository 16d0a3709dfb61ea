/**
 * Scores the local policy engine on a labelled prompt set (DESIGN.md section 10).
 *
 *   npm run eval:guardrail -- FILE.jsonl [--env NAME] [--out reports/guardrail-eval.json]
 *   npm run eval:guardrail -- --cross-source [--env NAME] [FILE.jsonl ...]
 *
 * `--env` (default prod) scores with the local policy that environment deploys: its config's
 * guardrail policy projected onto the local engine by the same `deployConfigOf` the bundles
 * are built from, so block-or-flag and custom rules are the deployed ones.
 *
 * `--cross-source` is the honest measure: leave-one-source-out over the shared files
 * (every `*.jsonl` there by default: dev.jsonl, train.jsonl). For every source repository, the classifier is
 * trained on the licence-permitted rows of all the others (scripts/injection-training.ts),
 * its thresholds are chosen on the other repositories' out-of-source scores, and that
 * repository's rows are scored by the whole engine with that model. Reported per source and
 * as unweighted means over sources (`macroRecall`, `macroFalsePositiveRate`).
 *
 * Each line is `{"text", "label": "attack"|"benign", "category"?, "source"?}`. An attack is
 * detected when `checkInput` blocks it or records a PROMPT_ATTACK finding (the policy may
 * only flag). Prints recall on attacks, false-positive rate on benign rows, recall per
 * category and per source, and throughput; writes the same as JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChatGuard } from '../lambda/chat/ports';
import { createPolicyEngine } from '../lambda/guardrail/engine';
import type { LocalGuardrailPolicy } from '../lambda/guardrail/policy';
import { deployConfigOf } from '../lib/config/deploy-config';
import { ConfigError, loadEnvironments } from '../lib/config/load';
import { isEntryPoint } from './cognito-cli';
import {
  authoredRows,
  chooseThresholds,
  type Example,
  FPR_BUDGET,
  leaveOneSourceOut,
  loadSourceRows,
  prepare,
  sharedDataFiles,
} from './injection-training';

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

/** Scores `rows` with `guard` (or, per row, the guard `guard(row)` returns). */
export function evaluate(
  rows: readonly LabelledRow[],
  guard: ChatGuard | ((row: LabelledRow) => ChatGuard),
  file = '(memory)',
): EvalReport {
  const guardOf = typeof guard === 'function' ? guard : () => guard;
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
    const { hit, rules } = detected(guardOf(row), row.text);
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

/** The local policy an environment deploys (what its function bundles are built with). */
export function policyOfEnvironment(name: string): LocalGuardrailPolicy {
  const [config] = loadEnvironments(name);
  if (config === undefined) throw new ConfigError(`Unknown environment "${name}".`);
  return deployConfigOf(config).localPolicy;
}

/** Figures of one held-out source repository. */
export interface SourceFigures {
  readonly attacks: number;
  readonly benign: number;
  readonly recall: number | null;
  readonly falsePositiveRate: number | null;
  /** Thresholds chosen without this source (on the others' out-of-source scores). */
  readonly thresholds: { readonly classifier: number; readonly alone: number; readonly support: number };
}

/** The cross-source report: the pooled figures plus per-source and macro ones. */
export interface CrossSourceReport extends EvalReport {
  readonly mode: 'cross-source';
  readonly environment: string;
  readonly files: readonly string[];
  /** Mean recall over the sources that have attacks. */
  readonly macroRecall: number;
  /** Mean false-positive rate over the sources that have benign rows. */
  readonly macroFalsePositiveRate: number;
  readonly bySource: Readonly<Record<string, SourceFigures>>;
}

/** Leave-one-source-out evaluation of the engine with `policy` (see the file comment). */
export function crossSource(
  files: readonly string[],
  policy: LocalGuardrailPolicy,
  environment: string,
  log: (message: string) => void = () => {},
): CrossSourceReport {
  const sourceRows = files.flatMap((file) => loadSourceRows(file));
  sourceRows.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  log(`preparing ${sourceRows.length} rows`);
  const examples = prepare(sourceRows);
  const loso = leaveOneSourceOut(examples, prepare(authoredRows()), log);
  const budget = FPR_BUDGET[policy.promptAttackAction];
  const repos = [...loso.models.keys()];
  const engines = new Map<string, ChatGuard>();
  const thresholdsOf = new Map<string, SourceFigures['thresholds']>();
  for (const repo of repos) {
    const others: Example[] = [];
    const probabilities: number[] = [];
    examples.forEach((e, i) => {
      if (e.row.repo === repo) return;
      others.push(e);
      probabilities.push(loso.probabilities[i] as number);
    });
    const chosen = chooseThresholds(others, probabilities, budget);
    const thresholds = { classifier: chosen.classifier, alone: chosen.alone, support: chosen.support };
    thresholdsOf.set(repo, thresholds);
    engines.set(
      repo,
      createPolicyEngine(policy, {
        injection: {
          model: loso.models.get(repo) ?? null,
          classifierThreshold: thresholds.classifier,
          aloneThreshold: thresholds.alone,
          supportThreshold: thresholds.support,
        },
      }),
    );
  }
  const rows: LabelledRow[] = sourceRows.map((r) => ({
    text: r.text,
    label: r.label,
    category: r.category,
    source: r.source,
  }));
  const repoOf = (row: LabelledRow) => (row.source ?? 'unknown').split(':')[0] ?? 'unknown';
  const pooled = evaluate(rows, (row) => engines.get(repoOf(row)) as ChatGuard, files.join(' + '));
  const bySource: Record<string, SourceFigures> = {};
  for (const repo of repos) {
    const attack = pooled.detectionBySource[`attack:${repo}`];
    const benign = pooled.detectionBySource[`benign:${repo}`];
    bySource[repo] = {
      attacks: attack?.total ?? 0,
      benign: benign?.total ?? 0,
      recall: attack?.rate ?? null,
      falsePositiveRate: benign?.rate ?? null,
      thresholds: thresholdsOf.get(repo) as SourceFigures['thresholds'],
    };
  }
  const mean = (values: number[]) => round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length));
  const figures = Object.values(bySource);
  return {
    mode: 'cross-source',
    environment,
    files,
    ...pooled,
    macroRecall: mean(figures.flatMap((f) => (f.recall === null ? [] : [f.recall]))),
    macroFalsePositiveRate: mean(
      figures.flatMap((f) => (f.falsePositiveRate === null ? [] : [f.falsePositiveRate])),
    ),
    bySource,
  };
}

/** The per-source table of a cross-source report. */
export function formatCrossSource(report: CrossSourceReport): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);
  const lines = [
    `Leave-one-source-out over ${report.files.join(', ')} (policy of environment "${report.environment}")`,
    '',
    '| held-out source | attacks | recall | benign | false positives | thresholds (classifier / alone / support) |',
    '|---|---|---|---|---|---|',
    ...Object.entries(report.bySource).map(
      ([repo, f]) =>
        `| ${repo} | ${f.attacks} | ${pct(f.recall)} | ${f.benign} | ${pct(f.falsePositiveRate)} | ${f.thresholds.classifier} / ${f.thresholds.alone} / ${f.thresholds.support} |`,
    ),
    `| **macro** | | **${pct(report.macroRecall)}** | | **${pct(report.macroFalsePositiveRate)}** | |`,
    '',
  ];
  return `${lines.join('\n')}\n${formatReport(report)}`;
}

const USAGE =
  'Usage: npm run eval:guardrail -- FILE.jsonl [--env NAME] [--out reports/guardrail-eval.json]\n' +
  '       npm run eval:guardrail -- --cross-source [--env NAME] [FILE.jsonl ...]\n';

/** Runs the command; returns the exit code. */
export function run(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  const options = {
    out: { type: 'string' },
    env: { type: 'string', default: 'prod' },
    'cross-source': { type: 'boolean', default: false },
  } as const;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const environment = parsed.values.env;
  let policy: LocalGuardrailPolicy;
  try {
    policy = policyOfEnvironment(environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const target = resolve(parsed.values.out ?? 'reports/guardrail-eval.json');
  const write = (report: unknown) => {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
  };

  if (parsed.values['cross-source']) {
    const files = parsed.positionals.length > 0 ? parsed.positionals : sharedDataFiles();
    if (files.length === 0) {
      err('No data files: pass them, or set OMNICHAT_PROMPT_DATA to the shared dev.jsonl.\n');
      return 2;
    }
    for (const file of files) {
      try {
        parseRows(readFileSync(file, 'utf8'), file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        err(code ? `Cannot read ${file}: ${code}\n` : `${(error as Error).message}\n`);
        return 1;
      }
    }
    const report = crossSource(files, policy, environment, (m) => err(`[cross-source] ${m}\n`));
    write(report);
    out(formatCrossSource(report));
    out(`\nWritten to ${target}\n`);
    return 0;
  }

  const file = parsed.positionals[0];
  if (file === undefined) {
    err(USAGE);
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
  const guard = createPolicyEngine(policy);
  // Warm-up so throughput measures steady state, not module initialization.
  for (const row of rows.slice(0, 50)) guard.checkInput(row.text);
  const report = { environment, ...evaluate(rows, guard, file) };
  write(report);
  out(`Policy of environment "${environment}" (prompt attacks: ${policy.promptAttackAction}).\n`);
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
