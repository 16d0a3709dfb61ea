import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { allTables, auditTable } from '../../lib/data/table-schemas';
import { configOf, ENV_NAMES, stageFor, templateOf } from '../support/synth';

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

describe.each(ENV_NAMES)('data stack of %s', (envName) => {
  const config = configOf(envName);
  const template = templateOf(stageFor(envName), 'data');
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const retained = config.removalPolicy === 'retain';

  it('builds one table per shared schema', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', allTables.length);
  });

  it.each(allTables.map((s) => [s.id, s] as const))(
    'table %s: CMK, PITR, on-demand, keys and TTL as in its schema',
    (id, schema) => {
      const [, table] = ofType('AWS::DynamoDB::Table').find(([logicalId]) =>
        logicalId.startsWith(`Tables${id}`),
      )!;
      const keyRef = JSON.stringify(table.Properties.SSESpecification);
      expect(keyRef).toContain(id === auditTable.id ? 'KeysAuditKey' : 'KeysDataKey');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: retained,
        KeySchema: [
          { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
          ...(schema.sortKey ? [{ AttributeName: schema.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
      });
      if (schema.ttlAttribute) {
        expect(table.Properties.TimeToLiveSpecification).toEqual({
          AttributeName: schema.ttlAttribute,
          Enabled: true,
        });
      }
      const indexes =
        (table.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string }> | undefined) ?? [];
      expect(indexes.map((i) => i.IndexName)).toEqual((schema.globalIndexes ?? []).map((i) => i.indexName));
      expect(table.Properties.StreamSpecification).toEqual(
        schema.stream ? { StreamViewType: 'NEW_AND_OLD_IMAGES' } : undefined,
      );
      expect(table.DeletionPolicy).toBe(retained ? 'Retain' : 'Delete');
    },
  );

  it('locks every audit archive object for the configured mode and period', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: {
          DefaultRetention: { Mode: config.audit.objectLockMode, Days: config.audit.archiveRetentionDays },
        },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^KeysAuditKey'), 'Arn'] },
            },
          }),
        ],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'audit-archive/' }),
    });
  });

  it('blocks public access and denies plain HTTP on every bucket', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets).toHaveLength(3);
    for (const [, bucket] of buckets) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    const policies = ofType('AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(3);
    for (const [, policy] of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('has a backup plan outside dev only', () => {
    expect(config.backup.enabled).toBe(envName !== 'dev');
    template.resourceCountIs('AWS::Backup::BackupPlan', config.backup.enabled ? 1 : 0);
  });

  it.runIf(config.backup.enabled)(
    'backs tables and the archive up daily into a vault with its own rotating key',
    () => {
      template.hasResourceProperties('AWS::Backup::BackupPlan', {
        BackupPlan: {
          BackupPlanRule: [
            Match.objectLike({
              RuleName: 'daily',
              Lifecycle: { DeleteAfterDays: config.backup.retentionDays },
            }),
          ],
        },
      });
      template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/omnichat/${envName}/backup` });
      template.hasResourceProperties('AWS::Backup::BackupVault', {
        EncryptionKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupsBackupKey'), 'Arn'] },
        ...(config.backup.vaultLock
          ? { LockConfiguration: { MinRetentionDays: config.backup.retentionDays, ChangeableForDays: 3 } }
          : {}),
      });
      if (!config.backup.vaultLock) {
        const [, vault] = ofType('AWS::Backup::BackupVault')[0]!;
        expect(vault.Properties.LockConfiguration).toBeUndefined();
      }
      const [, selection] = ofType('AWS::Backup::BackupSelection')[0]!;
      const selected = JSON.stringify(selection.Properties);
      for (const schema of allTables) expect(selected).toContain(`Tables${schema.id}`);
      expect(selected).toContain('AuditArchiveBucket');
    },
  );

  it.runIf(config.backup.enabled)(
    'gives the backup role the S3 backup and restore policies, since it backs up the archive bucket',
    () => {
      const [, selection] = ofType('AWS::Backup::BackupSelection')[0]!;
      const backupSelection = selection.Properties.BackupSelection as {
        IamRoleArn: { 'Fn::GetAtt': [string, string] };
      };
      const roleId = backupSelection.IamRoleArn['Fn::GetAtt'][0];
      const role = template.toJSON().Resources[roleId];
      const arns = JSON.stringify(role.Properties.ManagedPolicyArns);
      for (const policy of [
        'service-role/AWSBackupServiceRolePolicyForBackup',
        'service-role/AWSBackupServiceRolePolicyForRestores',
        'AWSBackupServiceRolePolicyForS3Backup',
        'AWSBackupServiceRolePolicyForS3Restore',
      ]) {
        expect(arns).toContain(`:iam::aws:policy/${policy}"`);
      }
    },
  );

  it('retains every stateful resource outside dev, and the Object Lock archive everywhere', () => {
    for (const [id, r] of Object.entries(resources)) {
      if (
        ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Backup::BackupVault'].includes(
          r.Type,
        )
      ) {
        // The Object Lock archive is retained in dev too: its locked objects would fail the delete.
        const keep = retained || id.startsWith('AuditArchiveBucket');
        expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual(
          keep ? [id, 'Retain', 'Retain'] : [id, 'Delete', 'Delete'],
        );
      }
    }
  });

  it('is termination-protected outside dev', () => {
    expect(stageFor(envName).data.terminationProtection).toBe(config.terminationProtection);
  });

  it('pins the logical ids of stateful resources', () => {
    const stateful = Object.entries(resources)
      .filter(([, r]) =>
        ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Backup::BackupVault'].includes(
          r.Type,
        ),
      )
      .map(([id]) => id)
      .sort();
    expect(stateful).toEqual([
      'AccessLogsBucketCD784A59',
      'AuditArchiveBucketDB93AD31',
      'AuthEventsBucket052ACCF1',
      ...(config.backup.enabled ? ['BackupsBackupKeyE1E8D710', 'BackupsVault1F11AFCC'] : []),
      'KeysAuditKey155B718A',
      'KeysDataKey8F3FE3A4',
      'KeysLogsKeyD24E82DB',
      'TablesApiKeysTable21490A2A',
      'TablesAuditTable74DDE525',
      'TablesConversationsTable82FFF564',
      'TablesLimitsTable0367D51D',
      'TablesSettingsTable7036E9F1',
    ]);
  });
});
