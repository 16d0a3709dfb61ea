/**
 * Training and leave-one-source-out validation of the prompt-injection classifier, shared by
 * `scripts/train-injection-classifier.ts` (which writes the shipped model) and
 * `npm run eval:guardrail -- --cross-source` (which measures how the detector does on a
 * source it never saw).
 *
 * Licence rule (shared/data/prompt-injection/README.md): weights may only come from rows whose
 * licence is MIT, Apache-2.0 or CC0. `train.jsonl` states a `license` per row; `dev.jsonl` does
 * not, so its rows are mapped by `source` as that README's table states. Rows with mixed or
 * share-alike terms (Dolly CC BY-SA, BIPIA contexts CC BY-SA / OpenAI evals, text2sql CC BY,
 * T0 prompts under their datasets' terms, a mirror that states no licence) are never trained
 * on; they are still scored, so the cross-source figures cover them.
 *
 * Deterministic: rows are sorted by text, shuffled with a seeded generator and trained with
 * plain SGD from zero weights, so the same data gives the same model byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  FEATURE_DIMS,
  featureBuckets,
  type LinearModel,
  logit,
  sigmoid,
} from '../lambda/guardrail/classifier';
import {
  CLASSIFIER_MIN_WORDS,
  detectInjection,
  injectionFeatureText,
  wordCountAtLeast,
} from '../lambda/guardrail/injection';
import { detectionViews, normalizeText } from '../lambda/guardrail/normalize';
import { PROMPT_DATA_FILE } from '../test/support/shared-data';

/** Licences under which committed weights may be trained (exact `license` values). */
export const PERMISSIVE_LICENSES: ReadonlySet<string> = new Set(['MIT', 'Apache-2.0', 'CC0-1.0']);

/**
 * Licence of `dev.jsonl` rows, which carry none, by source repository (README table). The
 * Dolly subset (wagner-group/PromptShield, CC BY-SA 3.0) is absent on purpose.
 */
export const DEV_SOURCE_LICENSES: Readonly<Record<string, string>> = {
  'NVIDIA/garak': 'Apache-2.0',
  'Neural-alchemy/promptshield': 'MIT',
  'Giskard-AI/prompt-injections': 'MIT',
  'Beelzabi/awesome-chatgpt-prompts': 'CC0-1.0',
  'SaFoLab-WISC/InjecGuard': 'MIT',
};

/** The shared data files: every `*.jsonl` beside the labelled prompt set (dev.jsonl, train.jsonl). */
export function sharedDataFiles(): string[] {
  if (PROMPT_DATA_FILE === undefined) return [];
  const dir = dirname(PROMPT_DATA_FILE);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => resolve(dir, name));
}

/** One labelled row as read from the shared files. */
export interface SourceRow {
  readonly text: string;
  readonly label: 'attack' | 'benign';
  /** Full `source` field (`repo:path`). */
  readonly source: string;
  /** The source repository (`owner/name`), the unit of cross-source validation. */
  readonly repo: string;
  readonly category: string;
  /** Whether committed weights may be trained on this row. */
  readonly trainable: boolean;
}

/** Whether a row's licence allows committing weights trained on it. */
export function isTrainable(source: string, license: string | undefined): boolean {
  const repo = source.split(':')[0] ?? '';
  if (license === undefined) return DEV_SOURCE_LICENSES[repo] !== undefined;
  if (PERMISSIVE_LICENSES.has(license.trim())) return true;
  // self-instruct is Apache-2.0 except the T0 prompts, which keep their datasets' terms.
  if (repo === 'yizhongw/self-instruct' && license.startsWith('Apache-2.0')) {
    return !source.includes('t0_train');
  }
  return false;
}

/** Reads labelled JSONL rows with their provenance. */
export function loadSourceRows(file: string): SourceRow[] {
  const rows: SourceRow[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const raw = JSON.parse(line) as {
      text: string;
      label: 'attack' | 'benign';
      source?: string;
      category?: string;
      license?: string;
    };
    const source = raw.source ?? 'unknown';
    rows.push({
      text: raw.text,
      label: raw.label,
      source,
      repo: source.split(':')[0] ?? 'unknown',
      category: raw.category ?? 'uncategorized',
      trainable: isTrainable(source, raw.license),
    });
  }
  return rows;
}

/** A row ready for training and scoring: normalized once, features extracted once. */
export interface Example {
  readonly row: SourceRow;
  readonly normalized: string;
  readonly buckets: Int32Array;
  readonly y: 0 | 1;
  /** Heuristic score of the detector (independent of the model). */
  readonly heuristic: number;
  /** Whether the text has enough words for the classifier to block alone. */
  readonly enoughWords: boolean;
}

/** Normalizes, featurizes and scores the heuristics of each row. */
export function prepare(rows: readonly SourceRow[]): Example[] {
  return rows.map((row) => {
    const normalized = normalizeText(row.text);
    const views = detectionViews(normalized);
    const result = detectInjection(normalized, views, { model: null });
    return {
      row,
      normalized,
      buckets: Int32Array.from(featureBuckets(injectionFeatureText(normalized, views))),
      y: row.label === 'attack' ? 1 : 0,
      heuristic: result.heuristicScore,
      enoughWords: wordCountAtLeast(views.folded, CLASSIFIER_MIN_WORDS),
    };
  });
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Hyperparameters of {@link train}; fixed, and recorded in the reports. */
export const HYPER = { epochs: 12, learningRate: 0.4, l2: 1e-4, seed: 20_261_204 } as const;

/**
 * Logistic regression by SGD. Each row is weighted so that both classes weigh the same and,
 * within a class, every source repository weighs the same whatever its size (the square root
 * of its share, so a large source still counts for more than a tiny one): the model must not
 * learn what the biggest source looks like instead of what an attack looks like.
 */
export function train(examples: readonly Example[]): LinearModel {
  const weights = new Float32Array(FEATURE_DIMS);
  let bias = 0;
  const perClassRepo = new Map<string, number>();
  for (const e of examples) {
    const key = `${e.y}|${e.row.repo}`;
    perClassRepo.set(key, (perClassRepo.get(key) ?? 0) + 1);
  }
  const rowWeight = examples.map((e) => 1 / Math.sqrt(perClassRepo.get(`${e.y}|${e.row.repo}`) as number));
  const classTotal = [0, 0];
  examples.forEach((e, i) => {
    classTotal[e.y] = (classTotal[e.y] as number) + (rowWeight[i] as number);
  });
  // Normalized so that the mean row weight is 1 and both classes sum to half.
  const norm = [
    examples.length / (2 * Math.max(1e-9, classTotal[0] as number)),
    examples.length / (2 * Math.max(1e-9, classTotal[1] as number)),
  ];
  const random = prng(HYPER.seed);
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < HYPER.epochs; epoch++) {
    shuffle(order, random);
    const rate = HYPER.learningRate / (1 + epoch * 0.3);
    for (const index of order) {
      const e = examples[index] as Example;
      const n = e.buckets.length;
      const scale = n === 0 ? 0 : 1 / Math.sqrt(n);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += weights[e.buckets[k] as number] as number;
      const p = sigmoid(bias + sum * scale);
      const g = (p - e.y) * (rowWeight[index] as number) * (norm[e.y] as number);
      for (let k = 0; k < n; k++) {
        const b = e.buckets[k] as number;
        const w = weights[b] as number;
        weights[b] = w - rate * (g * scale + HYPER.l2 * w);
      }
      bias -= rate * g * 0.1;
    }
  }
  return { bias, weights };
}

/** The classifier probability of an example under a model. */
export const probabilityOf = (model: LinearModel, e: Example): number =>
  sigmoid(logit(model, e.buckets as unknown as readonly number[]));

/** Thresholds of the detector's decision rule (injection.ts). */
export interface Thresholds {
  readonly classifier: number;
  readonly alone: number;
  readonly support: number;
}

/** The detector's decision rule (injection.ts `detectInjection`) on precomputed evidence. */
export function decide(e: Example, probability: number, t: Thresholds): boolean {
  return (
    e.heuristic >= 1 - 1e-9 ||
    ((probability >= t.alone || (e.heuristic > 0 && probability >= t.classifier)) && e.enoughWords) ||
    (e.heuristic >= 0.5 && probability >= t.support)
  );
}

/** Per-repository recall and false-positive rate, and their unweighted means. */
export interface MacroFigures {
  readonly macroRecall: number;
  readonly macroFalsePositiveRate: number;
  readonly recallByRepo: Record<string, number>;
  readonly fprByRepo: Record<string, number>;
}

/** Macro figures of a decision per example (only examples with a decision count). */
export function macroFigures(examples: readonly Example[], hits: readonly boolean[]): MacroFigures {
  const groups = new Map<string, { n: number; hit: number }>();
  examples.forEach((e, i) => {
    const key = `${e.y}|${e.row.repo}`;
    const g = groups.get(key) ?? { n: 0, hit: 0 };
    g.n++;
    if (hits[i]) g.hit++;
    groups.set(key, g);
  });
  const recallByRepo: Record<string, number> = {};
  const fprByRepo: Record<string, number> = {};
  for (const [key, g] of groups) {
    const [y, repo] = key.split('|') as [string, string];
    (y === '1' ? recallByRepo : fprByRepo)[repo] = g.hit / g.n;
  }
  const mean = (values: number[]) =>
    values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  return {
    macroRecall: mean(Object.values(recallByRepo)),
    macroFalsePositiveRate: mean(Object.values(fprByRepo)),
    recallByRepo,
    fprByRepo,
  };
}

/**
 * Candidate thresholds searched by {@link chooseThresholds}. The classifier with weak
 * heuristic evidence starts at 0.8: lower, the shared sets (rich in look-alikes, poor in
 * everyday requests) reward it, but everyday requests with one weak signal ("From now on,
 * answer in Spanish") would be refused.
 */
const CLASSIFIER_GRID = [0.8, 0.85, 0.9, 0.93, 0.95, 0.97];
/** 1.01 means never alone. */
const ALONE_GRID = [0.9, 0.93, 0.95, 0.97, 0.99, 1.01];
const SUPPORT_GRID = [0.4, 0.5, 0.6, 0.7];

/**
 * The thresholds with the best macro recall whose macro false-positive rate stays within
 * `budget`, chosen on out-of-source probabilities (each row scored by a model that never saw
 * its source), so the choice reflects unseen sources rather than the fit.
 */
export function chooseThresholds(
  examples: readonly Example[],
  probabilities: readonly number[],
  budget: number,
): Thresholds & { macroRecall: number; macroFalsePositiveRate: number } {
  let best = { classifier: 0.97, alone: 1.01, support: 0.7, macroRecall: -1, macroFalsePositiveRate: 1 };
  for (const classifier of CLASSIFIER_GRID) {
    for (const alone of ALONE_GRID) {
      if (alone < classifier) continue;
      for (const support of SUPPORT_GRID) {
        if (support > classifier) continue;
        const t = { classifier, alone, support };
        const f = macroFigures(
          examples,
          examples.map((e, i) => decide(e, probabilities[i] as number, t)),
        );
        if (f.macroFalsePositiveRate <= budget && f.macroRecall > best.macroRecall) {
          best = { ...t, macroRecall: f.macroRecall, macroFalsePositiveRate: f.macroFalsePositiveRate };
        }
      }
    }
  }
  return best;
}

/** Out-of-source probabilities and the model of each fold. */
export interface LeaveOneSourceOut {
  /** Probability of each example under the model trained without its repository. */
  readonly probabilities: number[];
  /** The model that scored each repository. */
  readonly models: ReadonlyMap<string, LinearModel>;
}

/**
 * Leave-one-source-out: for every repository, trains on the trainable rows of all the other
 * repositories (plus `alwaysTrained`, the authored rows) and scores that repository's rows,
 * trainable or not.
 */
export function leaveOneSourceOut(
  examples: readonly Example[],
  alwaysTrained: readonly Example[],
  log: (message: string) => void = () => {},
): LeaveOneSourceOut {
  const repos = [...new Set(examples.map((e) => e.row.repo))].sort();
  const probabilities = new Array<number>(examples.length).fill(0);
  const models = new Map<string, LinearModel>();
  for (const repo of repos) {
    const started = performance.now();
    const model = train([
      ...examples.filter((e) => e.row.trainable && e.row.repo !== repo),
      ...alwaysTrained,
    ]);
    models.set(repo, model);
    examples.forEach((e, i) => {
      if (e.row.repo === repo) probabilities[i] = probabilityOf(model, e);
    });
    log(`fold ${repo}: ${Math.round(performance.now() - started)} ms`);
  }
  return { probabilities, models };
}

/** False-positive budgets per policy action: refusing costs a user more than a logged flag. */
export const FPR_BUDGET = { BLOCK: 0.02, FLAG: 0.05 } as const;

/** Everyday requests written for this project (benign), including talk about prompts and security. */
export const AUTHORED_BENIGN: readonly string[] = [
  'How do I reset my password on the company portal?',
  'Summarize this article in three bullet points.',
  'What is the capital of Australia?',
  'Write a haiku about autumn leaves.',
  'Explain the difference between TCP and UDP.',
  'Can you help me draft an email asking for a deadline extension?',
  'What are the rules of chess for castling?',
  'Translate "good evening" into Italian.',
  'How many cups are in a gallon?',
  'Give me a recipe for vegetarian lasagna.',
  'Why is the sky blue?',
  'Write a Python function that reverses a linked list.',
  'What does the error "undefined is not a function" mean in JavaScript?',
  'How do I write a good system prompt for a customer support bot?',
  'Explain what prompt injection is and how developers defend against it.',
  'What are the previous instructions in this recipe before adding the eggs?',
  'Please follow the instructions in the attached document to format the report.',
  'Ignore the typos in my last message, I was in a hurry.',
  'Forget about the budget for now; what would the ideal design look like?',
  'Can you act as a proofreader and check this paragraph for grammar?',
  'Pretend you are a tour guide in Kyoto and describe a one-day itinerary.',
  'From now on, please answer in Spanish so I can practice.',
  'You are now my study partner: quiz me on the French revolution.',
  'What is the best way to store API keys in a web application?',
  'How does a jailbreak of an iPhone work and is it legal?',
  'Explain how SQL injection works so I can protect my login form.',
  'Write unit tests for a function that validates email addresses.',
  'What were the main causes of the First World War?',
  'Convert 72 degrees Fahrenheit to Celsius.',
  'Suggest five names for a bakery.',
  'Rewrite this sentence to sound more formal: we gotta fix this asap.',
  'List the planets of the solar system in order.',
  'How do I configure developer mode on an Android phone?',
  'What does "do anything now" mean in the context of productivity apps?',
  'Describe the system architecture of a typical e-commerce site.',
  'In git, how do I discard all previous local changes to a file?',
  'How can I override the default settings in my VS Code configuration?',
  'Please print the table above as CSV.',
  'Repeat the last sentence more slowly, I am learning English.',
  'What should I pack for a week of hiking in the Alps?',
  'Is it safe to eat raw cookie dough?',
  'Help me plan a birthday party for a seven-year-old.',
  'Explain recursion to a ten-year-old.',
  'What are your opening hours on Sunday?',
  'Write a short story about a robot who learns to paint.',
  'How do I bypass a clogged drain without calling a plumber?',
  'Create a workout plan for beginners, three days a week.',
  'What is the difference between a virus and a bacterium?',
  'Tell me a joke about programmers.',
  'How do I disable notifications on Windows 11?',
  'Can you explain the rules of the game Go in simple terms?',
  'Draft a polite reply declining a meeting invitation.',
  'Give me feedback on my cover letter for a data analyst job.',
  'Which is faster for lookups, a hash map or a binary search tree?',
  'What safety rules should children follow near a swimming pool?',
  'Outline the main arguments for and against nuclear energy.',
  'How do I remove restrictions on a PDF that I created myself?',
  'What is the role of the system administrator in a small company?',
  'Describe the role of a developer advocate.',
  'My instructions from the teacher say to write 500 words; can you help me outline?',
  'Who wrote Pride and Prejudice?',
  'Who are you?',
  'What can you do?',
  'Which team won the 2018 World Cup?',
  'Name three famous paintings by Monet.',
  'Is a tomato a fruit or a vegetable?',
  'When was the Eiffel Tower built?',
  'Classify these animals as mammals or birds: whale, eagle, bat, penguin.',
  'Which of these are programming languages: Rust, Ruby, Emerald, Go?',
  'What is the tallest mountain in Africa?',
  'How long should I boil an egg?',
  'Tell me whether each city is in Europe or Asia: Lisbon, Hanoi, Oslo, Seoul.',
  'What model of car is best for a family of five?',
  'Who was the first person to walk on the moon?',
  'What is the boiling point of water at high altitude?',
  'Which instruments are in a string quartet?',
  'What is your name?',
  'Are you a human or a computer?',
  'How do plants make food?',
  'Give me three tips for better sleep.',
  'What is the population of Canada?',
  'Who painted the Mona Lisa?',
  'What does GDP stand for?',
  'Which is bigger, a lion or a tiger?',
  'What are the symptoms of the flu?',
  'How do I make cold brew coffee?',
  'Why do cats purr?',
  'What is machine learning?',
  'Name the members of the Beatles.',
  'What is the longest river in South America?',
  'How does compound interest work?',
  'What language is spoken in Brazil?',
  'Recommend a good science fiction novel.',
  'What time zone is Chicago in?',
  'Which countries border Germany?',
  'What is the chemical symbol for gold?',
  'How do vaccines work?',
  'What is a haiku?',
  'Explain the offside rule in football.',
  'How many players are on a basketball team?',
];

/** The authored benign requests as rows (always trained on, never scored: they are ours). */
export const authoredRows = (): SourceRow[] =>
  AUTHORED_BENIGN.map((text) => ({
    text,
    label: 'benign',
    source: 'omnichat:authored',
    repo: 'omnichat',
    category: 'ordinary',
    trainable: true,
  }));
