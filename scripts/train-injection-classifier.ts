/**
 * Trains the prompt-injection classifier shipped in `lambda/guardrail/injection-model.ts`.
 *
 *   npm exec tsx scripts/train-injection-classifier.ts [-- DATA.jsonl] [--check]
 *
 * Licence rule (shared/data/prompt-injection/README.md): only rows whose source is MIT,
 * Apache-2.0 or CC0 are trained on; the Dolly rows (CC BY-SA 3.0) and any source not in
 * {@link PERMISSIVE_SOURCES} are never used for training. A short list of everyday benign
 * requests written for this project is added, because the permissive benign rows are
 * almost all deliberate look-alikes ("act as ...", trigger words) and the model must also
 * see ordinary questions.
 *
 * Reproducible: rows are sorted by text, shuffled with a seeded generator, and trained with
 * plain SGD from zero weights, so the same data gives the same model byte for byte.
 * Reported: stratified k-fold cross-validated figures (classifier alone and the whole
 * injection detector with the fold's model) beside in-sample figures; written to
 * `reports/guardrail-train.json`. `--check` trains and reports without writing the model.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  FEATURE_DIMS,
  featureBuckets,
  type LinearModel,
  logit,
  packWeights,
  sigmoid,
} from '../lambda/guardrail/classifier';
import { detectInjection } from '../lambda/guardrail/injection';
import { detectionViews, normalizeText } from '../lambda/guardrail/normalize';
import { PROMPT_DATA_FILE } from '../test/support/shared-data';

/** Source prefixes whose licence allows training and shipping weights, with that licence. */
export const PERMISSIVE_SOURCES: Readonly<Record<string, string>> = {
  'NVIDIA/garak': 'Apache-2.0',
  'Neural-alchemy/promptshield': 'MIT',
  'Giskard-AI/prompt-injections': 'MIT',
  'Beelzabi/awesome-chatgpt-prompts': 'CC0-1.0',
  'SaFoLab-WISC/InjecGuard': 'MIT',
};

/** Everyday requests written for this project (benign), including talk about prompts and security. */
const AUTHORED_BENIGN: readonly string[] = [
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

interface Row {
  readonly text: string;
  readonly label: 'attack' | 'benign';
  readonly source: string;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
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

interface Example {
  readonly row: Row;
  readonly normalized: string;
  readonly buckets: number[];
  readonly y: 0 | 1;
}

const HYPER = { epochs: 30, learningRate: 0.5, l2: 1e-4, seed: 20_250_101, folds: 5 } as const;

/** Logistic regression by SGD with class-balanced weights and L2 (lazy, applied per touched weight). */
function train(examples: readonly Example[]): LinearModel {
  const weights = new Float32Array(FEATURE_DIMS);
  let bias = 0;
  const positives = examples.filter((e) => e.y === 1).length;
  const classWeight = [
    examples.length / (2 * (examples.length - positives)),
    examples.length / (2 * positives),
  ];
  const random = prng(HYPER.seed);
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < HYPER.epochs; epoch++) {
    shuffle(order, random);
    const rate = HYPER.learningRate / (1 + epoch * 0.2);
    for (const index of order) {
      const e = examples[index] as Example;
      const p = sigmoid(logit({ bias, weights }, e.buckets));
      const g = (p - e.y) * (classWeight[e.y] as number);
      const scale = e.buckets.length === 0 ? 0 : 1 / Math.sqrt(e.buckets.length);
      for (const b of e.buckets) {
        const w = weights[b] as number;
        weights[b] = w - rate * (g * scale + HYPER.l2 * w);
      }
      bias -= rate * g * 0.1;
    }
  }
  return { bias, weights };
}

interface Figures {
  readonly recall: number;
  readonly falsePositiveRate: number;
  readonly attacks: number;
  readonly benign: number;
}

function figures(labels: readonly (0 | 1)[], predicted: readonly boolean[]): Figures {
  let tp = 0;
  let fp = 0;
  let attacks = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      attacks++;
      if (predicted[i]) tp++;
    } else if (predicted[i]) fp++;
  }
  const benign = labels.length - attacks;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    recall: round(tp / Math.max(1, attacks)),
    falsePositiveRate: round(fp / Math.max(1, benign)),
    attacks,
    benign,
  };
}

/** Area under the ROC curve (probability a random attack outscores a random benign row). */
function auc(labels: readonly (0 | 1)[], scores: readonly number[]): number {
  const order = scores.map((s, i) => [s, labels[i] as number] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let positives = 0;
  order.forEach(([, y], rank) => {
    if (y === 1) {
      rankSum += rank + 1;
      positives++;
    }
  });
  const negatives = order.length - positives;
  return (
    Math.round(((rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)) * 10_000) / 10_000
  );
}

/** Heuristic score and classifier probability of each example under its model. */
interface Evidence {
  readonly heuristic: number;
  readonly probability: number;
}

function gatherEvidence(examples: readonly Example[], models: readonly LinearModel[]): Evidence[] {
  return examples.map((e, i) => {
    const result = detectInjection(e.normalized, undefined, { model: models[i] as LinearModel });
    return { heuristic: result.heuristicScore, probability: result.classifierProbability ?? 0 };
  });
}

/** The detector's decision rule (injection.ts) applied to precomputed evidence. */
function decide(evidence: readonly Evidence[], threshold: number, support: number): boolean[] {
  return evidence.map(
    (e) =>
      e.heuristic >= 1 - 1e-9 ||
      e.probability >= threshold ||
      (e.heuristic >= 0.5 && e.probability >= support),
  );
}

/**
 * Picks the classifier thresholds on cross-validated scores: the pair with the best recall
 * whose false-positive rate on the (hard, look-alike) benign rows stays within the budget.
 */
function chooseThresholds(labels: readonly (0 | 1)[], evidence: readonly Evidence[]) {
  // Tight on purpose: these benign rows are hard look-alikes, and ordinary traffic is far
  // larger than any attack share, so a point of false positives costs more than a point of recall.
  const budget = 0.01;
  let best = { threshold: 0.9, support: 0.6, recall: -1, fpr: 1 };
  for (const threshold of [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]) {
    for (const support of [0.3, 0.4, 0.5, 0.6]) {
      if (support > threshold) continue;
      const f = figures(labels, decide(evidence, threshold, support));
      if (f.falsePositiveRate <= budget && f.recall > best.recall) {
        best = { threshold, support, recall: f.recall, fpr: f.falsePositiveRate };
      }
    }
  }
  return best;
}

function load(file: string): { rows: Row[]; excluded: Record<string, number> } {
  const rows: Row[] = [];
  const excluded: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as Row;
    const licensed = Object.keys(PERMISSIVE_SOURCES).some((prefix) => row.source?.startsWith(prefix));
    if (!licensed) {
      const key = (row.source ?? 'unknown').split(':')[0] ?? 'unknown';
      excluded[key] = (excluded[key] ?? 0) + 1;
      continue;
    }
    rows.push(row);
  }
  for (const text of AUTHORED_BENIGN) rows.push({ text, label: 'benign', source: 'omnichat:authored' });
  rows.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return { rows, excluded };
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { check: { type: 'boolean', default: false } },
  });
  const file = positionals[0] ?? PROMPT_DATA_FILE;
  if (file === undefined) {
    process.stderr.write('No data file: pass DATA.jsonl or set OMNICHAT_PROMPT_DATA.\n');
    process.exit(2);
  }
  const { rows, excluded } = load(file);
  const examples: Example[] = rows.map((row) => {
    const normalized = normalizeText(row.text);
    return {
      row,
      normalized,
      buckets: featureBuckets(detectionViews(normalized).folded),
      y: row.label === 'attack' ? 1 : 0,
    };
  });
  const labels = examples.map((e) => e.y);

  // Stratified folds: attacks and benign rows dealt round-robin after a seeded shuffle.
  const fold = new Array<number>(examples.length);
  const random = prng(HYPER.seed + 1);
  for (const y of [0, 1]) {
    const members = shuffle(
      examples.map((e, i) => (e.y === y ? i : -1)).filter((i) => i >= 0),
      random,
    );
    members.forEach((index, k) => {
      fold[index] = k % HYPER.folds;
    });
  }
  const foldModels: LinearModel[] = new Array(examples.length);
  const outOfFold: number[] = new Array(examples.length);
  for (let k = 0; k < HYPER.folds; k++) {
    const model = train(examples.filter((_, i) => fold[i] !== k));
    examples.forEach((e, i) => {
      if (fold[i] === k) {
        foldModels[i] = model;
        outOfFold[i] = sigmoid(logit(model, e.buckets));
      }
    });
  }
  const crossEvidence = gatherEvidence(examples, foldModels);
  const chosen = chooseThresholds(labels, crossEvidence);

  const finalModel = train(examples);
  const inSample = examples.map((e) => sigmoid(logit(finalModel, e.buckets)));
  const inSampleEvidence = gatherEvidence(
    examples,
    examples.map(() => finalModel),
  );
  const report = {
    data: {
      file,
      trainedRows: examples.length,
      attacks: labels.filter((y) => y === 1).length,
      excludedBySource: excluded,
    },
    licences: PERMISSIVE_SOURCES,
    authoredBenignRows: AUTHORED_BENIGN.length,
    hyperparameters: { ...HYPER, featureDims: FEATURE_DIMS },
    thresholds: { classifier: chosen.threshold, support: chosen.support },
    crossValidated: {
      classifierAuc: auc(labels, outOfFold),
      classifierAlone: figures(
        labels,
        outOfFold.map((p) => p >= chosen.threshold),
      ),
      detector: figures(labels, decide(crossEvidence, chosen.threshold, chosen.support)),
    },
    inSample: {
      classifierAuc: auc(labels, inSample),
      classifierAlone: figures(
        labels,
        inSample.map((p) => p >= chosen.threshold),
      ),
      detector: figures(labels, decide(inSampleEvidence, chosen.threshold, chosen.support)),
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  mkdirSync(resolve(root, 'reports'), { recursive: true });
  writeFileSync(resolve(root, 'reports/guardrail-train.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (values.check) return;

  const packed = packWeights(finalModel.weights);
  const source = `/**
 * Generated by scripts/train-injection-classifier.ts; do not edit. Logistic regression over
 * ${FEATURE_DIMS} hashed n-gram features (classifier.ts), int8-quantized weights in base64.
 * Trained on ${examples.length} rows: permissively licensed rows of the shared prompt set
 * (${Object.values(PERMISSIVE_SOURCES)
   .filter((v, i, a) => a.indexOf(v) === i)
   .join(', ')}) and ${AUTHORED_BENIGN.length} authored benign requests.
 * Cross-validated (${HYPER.folds}-fold) detector on those rows: recall ${report.crossValidated.detector.recall},
 * false-positive rate ${report.crossValidated.detector.falsePositiveRate}.
 */
export const INJECTION_MODEL = {
  bias: ${finalModel.bias.toFixed(6)},
  scale: ${packed.scale.toExponential(8)},
  threshold: ${chosen.threshold},
  supportThreshold: ${chosen.support},
  weights:
    '${packed.data}',
} as const;
`;
  writeFileSync(resolve(root, 'lambda/guardrail/injection-model.ts'), source);
}

main();
