import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  CONTENT_FILTER_TYPES,
  type GuardrailPolicy,
  guardrailPolicySchema,
} from '../../config/guardrail-policy';
import type { ApiFunction } from '../api-function';

/** Properties of {@link BedrockGuardrail}. */
export interface BedrockGuardrailProps {
  /** The environment's guardrail policy (config `guardrail`). */
  readonly policy: GuardrailPolicy;
  /** Prefix of the guardrail's name, e.g. `omnichat-prod`; the guardrail is `<prefix>-guardrail`. */
  readonly namePrefix: string;
  /** Customer-managed key that encrypts the guardrail's configuration (the environment's data key). */
  readonly kmsKey: kms.IKey;
  /** @default 'OmniChat content, topic, word and sensitive-information policy' */
  readonly description?: string;
}

/**
 * Key actions the principal that creates or updates the guardrail (the CloudFormation
 * execution role) needs on its CMK: Bedrock describes the key, encrypts the configuration
 * with a data key and creates a grant for its own later use (Bedrock user guide, "Create a
 * customer managed key for your guardrail").
 */
export const GUARDRAIL_CREATOR_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:DescribeKey',
  'kms:CreateGrant',
] as const;
/** Key actions a role that applies the guardrail during inference needs on its CMK. */
export const GUARDRAIL_USER_KEY_ACTIONS = ['kms:Decrypt'] as const;

/**
 * The Bedrock guardrail of one environment (DESIGN.md section 6, layer 2) and a pinned,
 * numbered version of it, encrypted with a customer-managed key. Callers must name the
 * version ({@link versionNumber}); the editable DRAFT is never what runs.
 *
 * The version's description carries a hash of the policy: CloudFormation replaces a
 * GuardrailVersion when its description changes, so every policy change publishes a new
 * version in the same deployment that updates the guardrail, and the IAM condition (which
 * names {@link versionArn}) moves with it.
 */
export class BedrockGuardrail extends Construct {
  readonly guardrail: bedrock.CfnGuardrail;
  readonly version: bedrock.CfnGuardrailVersion;
  /** Guardrail id (e.g. `yympzo398ipq`). */
  readonly guardrailId: string;
  /** Guardrail ARN, `arn:<partition>:bedrock:<region>:<account>:guardrail/<id>`. */
  readonly guardrailArn: string;
  /** Number of the pinned version (the GuardrailVersion's `Version` attribute), e.g. `3`. */
  readonly versionNumber: string;
  /**
   * `<guardrailArn>:<versionNumber>`: the value `bedrock:GuardrailIdentifier` has when a
   * request names this guardrail by ARN and this version; the IAM condition must equal it.
   */
  readonly versionArn: string;
  /** The key that encrypts the guardrail. */
  readonly kmsKey: kms.IKey;

  constructor(scope: Construct, id: string, props: BedrockGuardrailProps) {
    super(scope, id);
    const parsed = guardrailPolicySchema.safeParse(props.policy);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `policy.${i.path.join('.')}: ${i.message}`);
      throw new Error(`BedrockGuardrail: invalid policy:\n  - ${issues.join('\n  - ')}`);
    }
    const name = `${props.namePrefix}-guardrail`;
    if (!/^[0-9a-zA-Z_-]{1,50}$/.test(name)) {
      throw new Error(
        `BedrockGuardrail: namePrefix "${props.namePrefix}" must make a name of at most 50 letters, digits, - and _ (got "${name}")`,
      );
    }
    const policy = parsed.data;
    const description = props.description ?? 'OmniChat content, topic, word and sensitive-information policy';
    if (description.length > 200)
      throw new Error('BedrockGuardrail: description must be at most 200 characters');

    const configuration = renderPolicy(policy);
    this.kmsKey = props.kmsKey;
    this.guardrail = new bedrock.CfnGuardrail(this, 'Guardrail', {
      name,
      description,
      kmsKeyArn: props.kmsKey.keyArn,
      ...configuration,
    });
    const digest = createHash('sha256').update(JSON.stringify(configuration)).digest('hex').slice(0, 16);
    this.version = new bedrock.CfnGuardrailVersion(this, 'Version', {
      guardrailIdentifier: this.guardrail.attrGuardrailId,
      description: `${name} policy sha256:${digest}`,
    });

    this.guardrailId = this.guardrail.attrGuardrailId;
    this.guardrailArn = this.guardrail.attrGuardrailArn;
    this.versionNumber = this.version.attrVersion;
    this.versionArn = `${this.guardrailArn}:${this.versionNumber}`;
  }

  /**
   * Lets `fn` decrypt the guardrail's configuration, which Bedrock does with the caller's
   * credentials when a request names the guardrail, and only through Bedrock.
   */
  grantKeyUse(fn: ApiFunction): void {
    fn.grant('GuardrailKey', [...GUARDRAIL_USER_KEY_ACTIONS], [this.kmsKey.keyArn], {
      StringEquals: { 'kms:ViaService': `bedrock.${Stack.of(this).region}.amazonaws.com` },
    });
  }

  /**
   * A key-policy statement for the principal that deploys the guardrail, for accounts whose
   * CloudFormation execution role is not already allowed these actions through IAM (the
   * account-root statement of the key delegates to IAM). Limited to calls made through Bedrock.
   */
  creatorKeyPolicyStatement(deployer: iam.IPrincipal): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'AllowGuardrailDeployerThroughBedrock',
      principals: [deployer],
      actions: [...GUARDRAIL_CREATOR_KEY_ACTIONS],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:ViaService': `bedrock.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}

/** The guardrail's policy properties, rendered from the config (everything but name, description, key). */
function renderPolicy(
  policy: GuardrailPolicy,
): Pick<
  bedrock.CfnGuardrailProps,
  | 'blockedInputMessaging'
  | 'blockedOutputsMessaging'
  | 'contentPolicyConfig'
  | 'topicPolicyConfig'
  | 'wordPolicyConfig'
  | 'sensitiveInformationPolicyConfig'
> {
  const filters = policy.contentFilters;
  const pii = Object.entries(policy.pii).flatMap(([type, action]) => (action ? [{ type, action }] : []));
  return {
    blockedInputMessaging: policy.messages.blockedInput,
    blockedOutputsMessaging: policy.messages.blockedOutput,
    contentPolicyConfig: {
      filtersConfig: [
        ...CONTENT_FILTER_TYPES.map((type) => ({
          type,
          inputStrength: filters[type].input,
          outputStrength: filters[type].output,
        })),
        { type: 'PROMPT_ATTACK', inputStrength: filters.PROMPT_ATTACK.input, outputStrength: 'NONE' },
      ],
    },
    ...(policy.deniedTopics.length === 0
      ? {}
      : {
          topicPolicyConfig: {
            topicsConfig: policy.deniedTopics.map((t) => ({
              type: 'DENY',
              name: t.name,
              definition: t.definition,
              ...(t.examples.length === 0 ? {} : { examples: [...t.examples] }),
            })),
          },
        }),
    ...(policy.words.custom.length === 0 && !policy.words.managedProfanity
      ? {}
      : {
          wordPolicyConfig: {
            ...(policy.words.custom.length === 0
              ? {}
              : { wordsConfig: policy.words.custom.map((text) => ({ text })) }),
            ...(policy.words.managedProfanity ? { managedWordListsConfig: [{ type: 'PROFANITY' }] } : {}),
          },
        }),
    ...(pii.length === 0 && policy.regexes.length === 0
      ? {}
      : {
          sensitiveInformationPolicyConfig: {
            ...(pii.length === 0 ? {} : { piiEntitiesConfig: pii }),
            ...(policy.regexes.length === 0
              ? {}
              : {
                  regexesConfig: policy.regexes.map((r) => ({
                    name: r.name,
                    description: r.description,
                    pattern: r.pattern,
                    action: r.action,
                  })),
                }),
          },
        }),
  };
}
