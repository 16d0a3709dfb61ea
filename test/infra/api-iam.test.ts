import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { configOf, ENV_NAMES, stageFor } from '../support/synth';

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
    const apiFunctions = Object.keys(functions).filter(
      (id) => !/^(Health|AuditArchiver|StreamingApiAddressLookup)/.test(id),
    );
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
      ReservedConcurrentExecutions: configOf(envName).reservedConcurrency ? 1 : Match.absent(),
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
  /** Statements of one function's policy (`Chat`, `History`, ...). */
  const of = (fn: string): Statement[] =>
    [...policies.entries()]
      .filter(([id]) => new RegExp(`^${fn}Policy[0-9A-F]{8}$`).test(id))
      .flatMap(([, s]) => s);
  const allows = (fn: string) => of(fn).filter((s) => s.Effect === 'Allow');
  /** The distinct actions a function has on a table or its indexes. */
  const tableActions = (fn: string, tableId: string): string[] =>
    [
      ...new Set(
        allows(fn)
          .filter((s) => touchesTable(s, tableId))
          .flatMap(actionsOf),
      ),
    ].sort();

  it('lets only the chat function call Bedrock, and only with our guardrail', () => {
    for (const fn of ['Health', 'Keys', 'History', 'Admin', 'Web', 'AuditArchiver']) {
      expect(
        of(fn)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('bedrock:')),
      ).toEqual([]);
    }
    const invoke = allows('Chat').find((s) => s.Sid === 'InvokeAllowedModelsWithGuardrail');
    expect(JSON.stringify(invoke?.Condition)).toContain('bedrock:GuardrailIdentifier');
    const denies = of('Chat')
      .filter((s) => s.Effect === 'Deny')
      .map((s) => s.Sid);
    expect(denies).toEqual(
      expect.arrayContaining(['DenyModelsWithOtherGuardrail', 'DenyModelsWithoutGuardrail']),
    );
  });

  it('splits table access by route: chat writes turns, history reads and erases, admin owns settings', () => {
    expect(tableActions('Chat', 'ConversationsTable')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(tableActions('History', 'ConversationsTable')).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
    ]);
    expect(tableActions('Admin', 'ConversationsTable')).toEqual([]);
    expect(tableActions('Keys', 'ConversationsTable')).toEqual([]);
    expect(tableActions('Web', 'ConversationsTable')).toEqual([]);
    // Settings versions are appended by the admin function only; the others read them.
    expect(tableActions('Admin', 'SettingsTable')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect(tableActions('Chat', 'SettingsTable')).toEqual(['dynamodb:Query']);
    expect(tableActions('History', 'SettingsTable')).toEqual(['dynamodb:Query']);
    // Only the admin function reads the audit trail.
    for (const fn of ['Chat', 'History', 'Keys', 'Web']) {
      expect(tableActions(fn, 'AuditTable')).toEqual(['dynamodb:PutItem']);
    }
    expect(tableActions('Admin', 'AuditTable')).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(tableActions('Health', 'AuditTable')).toEqual([]);
  });

  it('grants data keys only with the message encryption context, and history may not make new ones', () => {
    const dataKeys = (fn: string) => allows(fn).filter((s) => s.Sid === 'DataKeys');
    expect(dataKeys('Chat').flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(dataKeys('History').flatMap(actionsOf)).toEqual(['kms:Decrypt']);
    expect(dataKeys('Admin').flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    for (const fn of ['Keys', 'Web', 'Health']) expect(dataKeys(fn)).toEqual([]);
    for (const statement of [...dataKeys('Chat'), ...dataKeys('History'), ...dataKeys('Admin')]) {
      expect(statement.Condition).toEqual({
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['user', 'conversation'] },
        Null: { 'kms:EncryptionContextKeys': 'false' },
      });
    }
  });

  it('puts the web ACL in front of both the load balancer and the user pool', () => {
    const associations = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation')).map((r) =>
      JSON.stringify(r.Properties.ResourceArn),
    );
    expect(associations).toHaveLength(2);
    expect(associations.some((a) => a.includes('LoadBalancer'))).toBe(true);
    expect(associations.some((a) => /UserPool/.test(a))).toBe(true);
  });

  it('takes reserved concurrency from the environment config', () => {
    const config = configOf(envName);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('the only function that may call Bedrock'),
      ReservedConcurrentExecutions: config.reservedConcurrency?.chat ?? Match.absent(),
    });
  });
});
