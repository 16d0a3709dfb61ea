import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { loadEnvironments } from '../../lib/config/load';
import {
  EOL_WARNING_DAYS,
  MODEL_CATALOGUE,
  modelLifecycleFindings,
  modelNamesOf,
} from '../../lib/config/model-catalogue';
import { configOf, ENV_NAMES, stageFor } from '../support/synth';

const OLD_HAIKU = { id: 'anthropic.claude-3-5-haiku-20241022-v1:0', inferenceProfile: false };
const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe('model catalogue', () => {
  it('records provider, name, launch, lifecycle, source and date read for every model', () => {
    for (const [id, m] of Object.entries(MODEL_CATALOGUE)) {
      expect(m.id).toBe(id);
      expect(m.name.length).toBeGreaterThan(0);
      expect(m.launch).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(m.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(m.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/bedrock\//);
      if (m.eol) expect(Date.parse(m.eol)).toBeGreaterThan(Date.parse(m.launch));
    }
  });

  it.each([
    ['on the EOL day', '2026-06-19', 'error'],
    ['a year after EOL', '2027-06-19', 'error'],
    ['a day before EOL', '2026-06-18', 'warning'],
    [`${EOL_WARNING_DAYS} days before EOL`, '2026-03-21', 'warning'],
    [`${EOL_WARNING_DAYS + 2} days before EOL`, '2026-03-19', undefined],
  ])('judges Claude 3.5 Haiku (EOL 2026-06-19) %s', (_, today, level) => {
    const findings = modelLifecycleFindings('dev', [OLD_HAIKU], day(today));
    expect(findings[0]?.level).toBe(level);
  });

  it('treats a model missing from the catalogue as an error, profile ids by their foundation model', () => {
    expect(
      modelLifecycleFindings(
        'dev',
        [{ id: 'openai.gpt-oss-120b-1:0', inferenceProfile: false }],
        day('2026-12-04'),
      ),
    ).toEqual([
      expect.objectContaining({
        level: 'error',
        message: expect.stringMatching(/not in lib\/config\/model-catalogue/),
      }),
    ]);
    expect(
      modelLifecycleFindings(
        'dev',
        [{ id: 'eu.anthropic.claude-3-5-haiku-20241022-v1:0', inferenceProfile: true }],
        day('2026-12-04'),
      ),
    ).toEqual([expect.objectContaining({ level: 'error' })]);
  });

  it.each(ENV_NAMES)(
    'allows only current catalogue models in %s, today and on the review date',
    (envName) => {
      const { models } = configOf(envName);
      for (const today of [new Date(), day('2026-12-04')]) {
        expect(modelLifecycleFindings(envName, models.allowList, today)).toEqual([]);
      }
      expect(models.defaultModelId).toBe('eu.anthropic.claude-haiku-4-5-20251001-v1:0');
      expect(modelNamesOf(models.allowList)).toEqual({
        'eu.anthropic.claude-haiku-4-5-20251001-v1:0': 'Claude Haiku 4.5',
        'eu.amazon.nova-lite-v1:0': 'Amazon Nova Lite',
      });
    },
  );
});

describe('model lifecycle gate in synth', () => {
  const config = loadEnvironments('dev')[0]!;
  const stale = {
    ...config,
    models: {
      allowList: [{ ...OLD_HAIKU, profileRegions: [] }, ...config.models.allowList],
      defaultModelId: config.models.defaultModelId,
    },
  };
  /** Annotations recorded on the Api stack at construction (no synthesis, no bundling needed). */
  const annotationsOf = (today: string, type: 'aws:cdk:error' | 'aws:cdk:warning') => {
    const { stages } = buildApp({ configs: [stale], compliance: false, today: day(today) });
    return stages[0]!.api.node.metadata.filter((m) => m.type === type).map((m) => String(m.data));
  };

  it('fails synth when an allow-listed model is past EOL: an error annotation on the Api stack', () => {
    // `cdk synth` fails on any error annotation, and `npm run synth` counts each one as an
    // unacknowledged finding of the org-rule pack (scripts/synth.ts).
    expect(annotationsOf('2026-12-04', 'aws:cdk:error')).toEqual([
      expect.stringMatching(
        /^ModelLifecycle: dev: model anthropic\.claude-3-5-haiku-20241022-v1:0 .*reached end of life on 2026-06-19/,
      ),
    ]);
  });

  it('only warns within 90 days of EOL', () => {
    expect(annotationsOf('2026-05-01', 'aws:cdk:error')).toEqual([]);
    expect(annotationsOf('2026-05-01', 'aws:cdk:warning')).toEqual(
      expect.arrayContaining([expect.stringMatching(/reaches end of life on 2026-06-19, in 49 days/)]),
    );
  });

  it('the committed environments build without a lifecycle annotation today', () => {
    const { stages } = buildApp({ envName: 'prod', compliance: false });
    expect(
      stages[0]!.api.node.metadata.filter((m) => /ModelLifecycle|omnichat:model-eol/.test(String(m.data))),
    ).toEqual([]);
  });
});

describe.each(ENV_NAMES)('chat role model resources (%s)', (envName) => {
  it('allows the EU inference profiles and their foundation models in every profile region', () => {
    const stage = stageFor(envName);
    const template = Template.fromStack(stage.api);
    const statements = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Sid?: string; Resource: unknown }[],
    );
    const invoke = statements.find((s) => s.Sid === 'InvokeAllowedModelsWithGuardrail');
    const resources = JSON.stringify(invoke?.Resource);
    expect(resources).toContain(
      `:${stage.account}:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0`,
    );
    expect(resources).toContain(`:${stage.account}:inference-profile/eu.amazon.nova-lite-v1:0`);
    for (const region of [
      'eu-central-1',
      'eu-north-1',
      'eu-south-1',
      'eu-south-2',
      'eu-west-1',
      'eu-west-3',
    ]) {
      expect(resources).toContain(
        `:bedrock:${region}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0`,
      );
      expect(resources).toContain(`:bedrock:${region}::foundation-model/amazon.nova-lite-v1:0`);
    }
    expect(resources).not.toContain('claude-3-5-haiku');
  });
});
