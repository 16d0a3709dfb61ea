/**
 * The models this project knows, with the lifecycle dates Amazon Bedrock publishes on each
 * model card. Only Bedrock's dates apply to Bedrock usage ("Model lifecycle dates on this page
 * are specific to Amazon Bedrock and may differ from dates published by model providers",
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html), so provider
 * announcements are noted but never drive the check.
 *
 * Synthesis checks every environment's allow-list against this catalogue
 * ({@link modelLifecycleFindings}): a model past its EOL date fails synth (after EOL "requests
 * to that model version fail"), one within {@link EOL_WARNING_DAYS} of it warns. Update an entry
 * whenever a model card changes, with the date you read it.
 */

/** One model as its Bedrock model card describes it. */
export interface CatalogueModel {
  /** Foundation model id (an inference profile id is this behind a geography prefix). */
  readonly id: string;
  readonly provider: string;
  /** Friendly name shown in the web page and in `GET /api/v1/models`. */
  readonly name: string;
  /** Model launch date on Bedrock (ISO date). */
  readonly launch: string;
  /** Date the model entered (or enters) Legacy on Bedrock, when the card names one. */
  readonly legacy?: string;
  /** Bedrock EOL date, when the card names one; requests fail from this day on. */
  readonly eol?: string;
  /** The card's lifecycle state when read. */
  readonly lifecycle: 'Active' | 'Legacy' | 'EOL';
  /** The model card (source of the dates). */
  readonly source: string;
  /** Date the card was read (ISO date). */
  readonly read: string;
  readonly note?: string;
}

/** How early synth warns about an approaching EOL. */
export const EOL_WARNING_DAYS = 90;

/** The catalogue, keyed by foundation model id. */
export const MODEL_CATALOGUE: Readonly<Record<string, CatalogueModel>> = {
  'anthropic.claude-haiku-4-5-20251001-v1:0': {
    id: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    provider: 'Anthropic',
    name: 'Claude Haiku 4.5',
    launch: '2025-10-16',
    lifecycle: 'Active',
    source: 'https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html',
    read: '2026-12-04',
    note: 'Bedrock card: Active, no EOL date set (12-month floor from launch has passed). Anthropic lists it as Legacy on its own API (https://platform.claude.com/docs/en/models/haiku-4-5/overview); watch the card.',
  },
  'amazon.nova-lite-v1:0': {
    id: 'amazon.nova-lite-v1:0',
    provider: 'Amazon',
    name: 'Amazon Nova Lite',
    launch: '2024-12-03',
    lifecycle: 'Active',
    source: 'https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-amazon-nova-lite.html',
    read: '2026-12-04',
    note: 'Active, no EOL date set. In-region in eu-central-1 and in the EU profile (https://docs.aws.amazon.com/bedrock/latest/userguide/copy-model-support.html).',
  },
  'anthropic.claude-3-5-haiku-20241022-v1:0': {
    id: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    provider: 'Anthropic',
    name: 'Claude 3.5 Haiku',
    launch: '2024-11-04',
    eol: '2026-06-19',
    lifecycle: 'Legacy',
    source: 'https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-5-haiku.html',
    read: '2026-12-04',
    note: 'Kept so that re-adding it fails synth instead of the first chat.',
  },
};

/** The foundation model behind an allow-list id: a system-defined profile id drops its geography prefix. */
export function foundationModelIdOf(allowListId: string, inferenceProfile: boolean): string {
  if (!inferenceProfile) return allowListId;
  const dot = allowListId.indexOf('.');
  return allowListId.slice(dot + 1);
}

/** The catalogue entry of an allow-list id, or undefined when the catalogue does not know it. */
export function catalogueEntryOf(allowListId: string, inferenceProfile: boolean): CatalogueModel | undefined {
  return MODEL_CATALOGUE[foundationModelIdOf(allowListId, inferenceProfile)];
}

/** One lifecycle finding about an environment's allow-list. */
export interface ModelLifecycleFinding {
  readonly level: 'error' | 'warning';
  readonly modelId: string;
  readonly message: string;
}

const DAY_MS = 86_400_000;

/**
 * Checks an allow-list against the catalogue on `today`: unknown models and models past EOL
 * are errors (synth fails), models within {@link EOL_WARNING_DAYS} of EOL are warnings.
 */
export function modelLifecycleFindings(
  envName: string,
  allowList: readonly { readonly id: string; readonly inferenceProfile: boolean }[],
  today: Date,
): ModelLifecycleFinding[] {
  const findings: ModelLifecycleFinding[] = [];
  for (const model of allowList) {
    const entry = catalogueEntryOf(model.id, model.inferenceProfile);
    if (!entry) {
      findings.push({
        level: 'error',
        modelId: model.id,
        message: `${envName}: model ${model.id} is not in lib/config/model-catalogue.ts; add it with the dates from its Bedrock model card`,
      });
      continue;
    }
    if (!entry.eol) continue;
    const eolAt = Date.parse(`${entry.eol}T00:00:00Z`);
    const daysLeft = Math.ceil((eolAt - today.getTime()) / DAY_MS);
    if (today.getTime() >= eolAt) {
      findings.push({
        level: 'error',
        modelId: model.id,
        message: `${envName}: model ${model.id} (${entry.name}) reached end of life on ${entry.eol} (${entry.source}); requests to it fail. Replace it in models.allowList.`,
      });
    } else if (daysLeft <= EOL_WARNING_DAYS) {
      findings.push({
        level: 'warning',
        modelId: model.id,
        message: `${envName}: model ${model.id} (${entry.name}) reaches end of life on ${entry.eol}, in ${daysLeft} days (${entry.source}). Plan its replacement.`,
      });
    }
  }
  return findings;
}

/** Friendly names of an allow-list, for the web page and `GET /api/v1/models`. */
export function modelNamesOf(
  allowList: readonly { readonly id: string; readonly inferenceProfile: boolean }[],
): Record<string, string> {
  return Object.fromEntries(
    allowList.map((m) => [m.id, catalogueEntryOf(m.id, m.inferenceProfile)?.name ?? m.id]),
  );
}
