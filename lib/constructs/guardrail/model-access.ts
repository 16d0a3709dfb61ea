import { Stack } from 'aws-cdk-lib';
import type { EnvironmentConfig } from '../../config/schema';
import type { ApiFunction } from '../api-function';
import type { BedrockGuardrail } from './bedrock-guardrail';

/** One entry of the environment's model allow-list (config `models.allowList`). */
export type AllowedModel = EnvironmentConfig['models']['allowList'][number];

/**
 * The IAM actions that run a model. Converse and ConverseStream have no actions of their
 * own: they are authorized as InvokeModel and InvokeModelWithResponseStream (Bedrock API
 * reference), and `bedrock:GuardrailIdentifier` is evaluated on all four operations.
 */
export const MODEL_INVOKE_ACTIONS: readonly string[] = [
  'bedrock:InvokeModel',
  'bedrock:InvokeModelWithResponseStream',
];

/** What the chat function is allowed: Converse only (it does not stream). The denies cover both. */
export const MODEL_ALLOWED_ACTIONS: readonly string[] = ['bedrock:InvokeModel'];

/**
 * What the streaming chat function is allowed: ConverseStream only, which IAM authorizes as
 * `bedrock:InvokeModelWithResponseStream`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html).
 */
export const MODEL_STREAM_ACTIONS: readonly string[] = ['bedrock:InvokeModelWithResponseStream'];

/** Where the models are and whose account the inference profiles are in. */
export interface ModelArnContext {
  readonly account: string;
  /** Region the function calls Bedrock in (the source region of inference profiles). */
  readonly region: string;
  /** ARN partition, `aws` in commercial regions (a token from the stack is fine). */
  readonly partition: string;
}

/**
 * The resources the allow-list names: a foundation model in the function's region for a
 * plain model id; for a cross-region inference profile, the profile in this account and
 * region plus the underlying foundation model in every region the profile may route to
 * (Bedrock authorizes each routed call against the foundation model in its destination).
 */
export function allowedModelArns(models: readonly AllowedModel[], ctx: ModelArnContext): string[] {
  const arns = new Set<string>();
  const foundationModel = (region: string, modelId: string): string =>
    `arn:${ctx.partition}:bedrock:${region}::foundation-model/${modelId}`;
  for (const model of models) {
    if (!model.inferenceProfile) {
      arns.add(foundationModel(ctx.region, model.id));
      continue;
    }
    if (!model.profileRegions.includes(ctx.region)) {
      throw new Error(
        `grantGuardedModelAccess: inference profile ${model.id} must list the source region ${ctx.region} in profileRegions`,
      );
    }
    // A system-defined profile id is the model id behind a geography prefix (eu., us., apac., global.).
    const dot = model.id.indexOf('.');
    const modelId = model.id.slice(dot + 1);
    if (dot < 1 || !modelId.includes('.')) {
      throw new Error(
        `grantGuardedModelAccess: inference profile id ${model.id} must be <geography>.<provider>.<model>`,
      );
    }
    arns.add(`arn:${ctx.partition}:bedrock:${ctx.region}:${ctx.account}:inference-profile/${model.id}`);
    for (const region of model.profileRegions) arns.add(foundationModel(region, modelId));
  }
  return [...arns];
}

/** Options of {@link grantGuardedModelAccess}. */
export interface GuardedModelAccessOptions {
  /** The environment's allow-list (config `models.allowList`). */
  readonly models: readonly AllowedModel[];
  /** The guardrail every model call must name, at its pinned version. */
  readonly guardrail: BedrockGuardrail;
  /** Account of the function (owner of the inference profiles it may use). */
  readonly account: string;
  /** Region the function calls Bedrock in. */
  readonly region: string;
  /**
   * `converse`: InvokeModel only (the whole-reply chat function); `stream`:
   * InvokeModelWithResponseStream only (the streaming one). The denies cover both either way.
   * @default 'converse'
   */
  readonly mode?: 'converse' | 'stream';
}

/**
 * Lets `fn` call only the allow-listed models and only with the environment's guardrail at
 * its pinned version (DESIGN.md section 6, layer 2):
 * - `InvokeAllowedModelsWithGuardrail`: allow on the allow-listed model and profile ARNs
 *   when `bedrock:GuardrailIdentifier` equals `<guardrail ARN>:<version>`;
 * - `DenyModelsWithOtherGuardrail`: deny on every model when it names anything else. A
 *   negated operator also matches when the key is absent, so this alone refuses calls
 *   without a guardrail;
 * - `DenyModelsWithoutGuardrail`: the same refusal stated explicitly (`Null`), so the
 *   intent survives anyone "simplifying" the previous statement into an IfExists form;
 * - `ApplyOwnGuardrail`: `bedrock:ApplyGuardrail` (needed for inference with a guardrail and
 *   for standalone checks) on this guardrail only;
 * - `GuardrailKey`: decrypt with the guardrail's CMK, through Bedrock only.
 * The denies name every resource so no other grant, present or future, can reopen a path.
 * The function must pass the guardrail's ARN (not its bare id) as `guardrailIdentifier`.
 */
export function grantGuardedModelAccess(fn: ApiFunction, opts: GuardedModelAccessOptions): void {
  if (opts.models.length === 0) throw new Error('grantGuardedModelAccess: the model allow-list is empty');
  const guardrailIs = opts.guardrail.versionArn;
  const resources = allowedModelArns(opts.models, {
    account: opts.account,
    region: opts.region,
    partition: Stack.of(fn).partition,
  });
  const allowed = opts.mode === 'stream' ? MODEL_STREAM_ACTIONS : MODEL_ALLOWED_ACTIONS;
  fn.grant('InvokeAllowedModelsWithGuardrail', [...allowed], resources, {
    StringEquals: { 'bedrock:GuardrailIdentifier': guardrailIs },
  });
  fn.deny('DenyModelsWithOtherGuardrail', [...MODEL_INVOKE_ACTIONS], ['*'], {
    StringNotEquals: { 'bedrock:GuardrailIdentifier': guardrailIs },
  });
  fn.deny('DenyModelsWithoutGuardrail', [...MODEL_INVOKE_ACTIONS], ['*'], {
    Null: { 'bedrock:GuardrailIdentifier': 'true' },
  });
  fn.grant('ApplyOwnGuardrail', ['bedrock:ApplyGuardrail'], [opts.guardrail.guardrailArn]);
  opts.guardrail.grantKeyUse(fn);
}
