import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configOf, ENV_NAMES, stageFor, templateOf } from '../support/synth';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Principal?: unknown;
  Condition?: unknown;
};
type Resource = {
  Type: string;
  Properties: { KeyPolicy: { Statement: Statement[] } };
  DeletionPolicy?: string;
};

describe.each(ENV_NAMES)('KMS keys of %s', (envName) => {
  const config = configOf(envName);
  const template = templateOf(stageFor(envName), 'data');
  const allKeys = Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
    ([, r]) => r.Type === 'AWS::KMS::Key',
  );
  // The environment's keys; the backup vault's own key is asserted with the backups.
  const keys = allKeys.filter(([id]) => id.startsWith('Keys'));

  it('has three rotating keys: data, logs, audit', () => {
    expect(keys.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(
      ['KeysAuditKey', 'KeysDataKey', 'KeysLogsKey'].sort(),
    );
    for (const [, key] of keys)
      expect(key.Properties).toMatchObject({ EnableKeyRotation: true, RotationPeriodInDays: 365 });
  });

  it.each(['data', 'logs', 'audit'])('names the %s key with an alias per environment', (purpose) => {
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/omnichat/${envName}/${purpose}` });
  });

  it('grants kms:* only to the account root', () => {
    for (const [, key] of allKeys) {
      for (const s of key.Properties.KeyPolicy.Statement) {
        const actions = ([] as string[]).concat(s.Action);
        if (s.Effect === 'Allow' && actions.includes('kms:*')) {
          expect(JSON.stringify(s.Principal)).toMatch(/:root/);
        }
      }
    }
  });

  it('denies grants except for AWS services on every key (CT.KMS.PR.3)', () => {
    for (const [, key] of allKeys) {
      expect(key.Properties.KeyPolicy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'kms:CreateGrant',
          Condition: {
            BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
          },
        }),
      );
    }
  });

  it('admits CloudWatch Logs to the logs key only, for log groups of this account', () => {
    const logsStatements = keys.flatMap(([id, key]) =>
      key.Properties.KeyPolicy.Statement.filter((s) =>
        JSON.stringify(s.Principal ?? '').includes(`"logs.${config.region}.amazonaws.com"`),
      ).map((s) => [id, s] as const),
    );
    expect(logsStatements).toHaveLength(1);
    // The log-delivery service (Cognito auth events to S3) only generates data keys, for this
    // account's delivery sources, and only on the logs key.
    const delivery = keys.flatMap(([id, key]) =>
      key.Properties.KeyPolicy.Statement.filter((s) =>
        JSON.stringify(s.Principal ?? '').includes('delivery.logs.amazonaws.com'),
      ).map((s) => [id, s] as const),
    );
    expect(delivery).toHaveLength(1);
    expect(delivery[0]![0]).toMatch(/^KeysLogsKey/);
    expect(delivery[0]![1].Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': config.account },
      ArnLike: { 'aws:SourceArn': `arn:aws:logs:${config.region}:${config.account}:delivery-source:*` },
    });
    const [id, statement] = logsStatements[0]!;
    expect(id).toMatch(/^KeysLogsKey/);
    expect(statement.Condition).toEqual({
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${config.region}:${config.account}:log-group:*`,
      },
    });
  });

  it(`is ${config.removalPolicy === 'destroy' ? 'deleted' : 'retained'} with the stack as configured`, () => {
    for (const [, key] of keys) {
      expect(key.DeletionPolicy).toBe(config.removalPolicy === 'destroy' ? 'Delete' : 'Retain');
    }
  });

  it('pins the logical ids of the stateful keys', () => {
    expect(keys.map(([id]) => id).sort()).toMatchInlineSnapshot(`
      [
        "KeysAuditKey155B718A",
        "KeysDataKey8F3FE3A4",
        "KeysLogsKeyD24E82DB",
      ]
    `);
  });

  it('tags every taggable resource with project, environment and data classification', () => {
    template.hasResourceProperties(
      'AWS::KMS::Key',
      Match.objectLike({
        Tags: Match.arrayWith([
          // CloudFormation tags are sorted by key.
          { Key: 'data-classification', Value: config.dataClassification },
          { Key: 'environment', Value: envName },
          { Key: 'project', Value: 'omnichat' },
        ]),
      }),
    );
  });
});
