import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES, stageFor } from '../support/synth';

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Every statement of every managed policy of the Api stack, by policy logical id. */
function statementsByPolicy(template: Template): Map<string, Statement[]> {
  const policies = template.findResources('AWS::IAM::ManagedPolicy');
  return new Map(
    Object.entries(policies).map(([id, resource]) => [
      id,
      (resource.Properties.PolicyDocument.Statement as Statement[]) ?? [],
    ]),
  );
}

/** True when the statement's resource is (or is under) the table whose construct id is `tableId`. */
const touchesTable = (s: Statement, tableId: string): boolean =>
  new RegExp(`Tables${tableId}[0-9A-F]{8}Arn`).test(JSON.stringify(s.Resource));

describe.each(ENV_NAMES)('Api stack IAM (%s)', (envName) => {
  const template = Template.fromStack(stageFor(envName).api);
  const policies = statementsByPolicy(template);
  const all = [...policies.values()].flat();

  it('lets the functions only put new audit items: no update, delete, batch write or read', () => {
    const auditStatements = all.filter((s) => touchesTable(s, 'AuditTable'));
    expect(auditStatements.length).toBeGreaterThan(0);
    for (const statement of auditStatements) {
      const isAdminQuery = statement.Sid?.startsWith('AuditQuery') ?? false;
      for (const action of actionsOf(statement)) {
        if (isAdminQuery) expect(action).toBe('dynamodb:Query');
        else expect(action).toBe('dynamodb:PutItem');
      }
    }
    // And no statement reaches DynamoDB through a wildcard resource.
    for (const statement of all) {
      if (actionsOf(statement).some((a) => a.startsWith('dynamodb:'))) {
        expect(statement.Resource).not.toBe('*');
      }
    }
  });

  it('gives every API function append-only audit access and exactly one archiver stream grant', () => {
    const puts = all.filter((s) => s.Sid === 'AuditAppend');
    const functions = template.findResources('AWS::Lambda::Function');
    // Every function except health (no dependencies) and the archiver writes audit events.
    const apiFunctions = Object.keys(functions).filter((id) => !/^(Health|AuditArchiver)/.test(id));
    expect(puts).toHaveLength(apiFunctions.length);
    const streamReads = all.filter((s) => actionsOf(s).includes('dynamodb:GetRecords'));
    expect(streamReads).toHaveLength(1);
    expect(JSON.stringify(streamReads[0]?.Resource)).toContain('AuditTable');
    expect(JSON.stringify(streamReads[0]?.Resource)).toContain('StreamArn');
  });

  it('lets a used API key change only its last-used time', () => {
    const touch = all.filter((s) => s.Sid === 'ApiKeysTouch');
    expect(touch.length).toBeGreaterThan(0);
    for (const statement of touch) {
      expect(actionsOf(statement)).toEqual(['dynamodb:UpdateItem']);
      expect(statement.Condition).toEqual({
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'lastUsedAt'] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      });
    }
  });

  it('uses table keys only through DynamoDB', () => {
    for (const statement of all.filter(
      (s) => s.Sid?.endsWith('Key') && actionsOf(s)[0]?.startsWith('kms:'),
    )) {
      if (statement.Sid === 'ArchiveKey') continue;
      expect(statement.Condition).toHaveProperty(['StringEquals', 'kms:ViaService']);
    }
  });

  it('archives through an ordered, bounded, reported event source with an encrypted dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } },
    });
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(1);
    expect(JSON.stringify(queues[0]?.Properties.KmsMasterKeyId)).toContain('AuditKey');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Object Lock archive'),
      ReservedConcurrentExecutions: 1,
    });
  });

  it('scopes the archiver to its bucket prefix with put and get only', () => {
    const write = all.find((s) => s.Sid === 'WriteArchive');
    expect(actionsOf(write as Statement)).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(write?.Resource).toBe(
      `arn:aws:s3:::omnichat-${envName}-audit-archive-${stageFor(envName).account}-${stageFor(envName).region}/chain=*`,
    );
    expect(
      all.some((s) =>
        actionsOf(s).some((a) =>
          /^s3:(Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernance)/.test(a),
        ),
      ),
    ).toBe(false);
  });
});
