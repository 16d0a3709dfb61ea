/**
 * Template assertions for the owner-directory writers (issue 17): the pre-token-generation
 * trigger and the CloudTrail-driven directory sync, both in the isolated subnets, each able
 * to write only owner-directory items, the sync with its dead-letter queues and alarms.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DIRECTORY_EVENT_NAMES } from '../../lambda/auth/directory-writers';
import { ENV_NAMES, stageFor } from '../support/synth';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

describe.each(ENV_NAMES)('owner-directory writers of %s', (envName) => {
  // Prepare: one synthesized stage per environment (cached), without compliance plugins.
  const stage = stageFor(envName);
  const identity = Template.fromStack(stage.identity);
  const monitoring = Template.fromStack(stage.monitoring);
  const resources = identity.toJSON().Resources as Resources;
  const functionId = (pattern: RegExp) =>
    Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Lambda::Function' && pattern.test(id))!;

  it('attaches the pre-token-generation trigger as a V2 event', () => {
    identity.hasResourceProperties('AWS::Cognito::UserPool', {
      LambdaConfig: Match.objectLike({
        PreTokenGenerationConfig: {
          LambdaArn: { 'Fn::GetAtt': [functionId(/PreTokenGeneration/), 'Arn'] },
          LambdaVersion: 'V2_0',
        },
      }),
    });
  });

  it.each([
    ['PreTokenGeneration', /OwnerDirectoryPreTokenGeneration/],
    ['DirectorySync', /OwnerDirectoryDirectorySync/],
  ])('runs %s in the isolated subnets with a 443-only security group', (_name, pattern) => {
    const fn = resources[functionId(pattern)]!;
    const vpc = (fn.Properties as { VpcConfig?: { SubnetIds?: unknown[]; SecurityGroupIds?: unknown[] } })
      .VpcConfig;
    expect(vpc?.SubnetIds?.length).toBeGreaterThan(0);
    expect(vpc?.SecurityGroupIds?.length).toBe(1);
  });

  it('lets both writers touch only OWNER# and ALIAS# items of the keys table', () => {
    const policies = identity.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { Description: Match.stringLikeRegexp('^(PreTokenGeneration|DirectorySync):') },
    });
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      const statements = (
        policy as {
          Properties: {
            PolicyDocument: { Statement: { Sid?: string; Action: unknown; Condition?: unknown }[] };
          };
        }
      ).Properties.PolicyDocument.Statement;
      const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
      expect(dynamo.length).toBeGreaterThan(0);
      for (const statement of dynamo) {
        expect(statement.Condition).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OWNER#*', 'ALIAS#*'] },
        });
        expect(JSON.stringify(statement.Action)).not.toMatch(/DeleteItem|Query|Scan|BatchWrite/);
      }
    }
  });

  it("routes Cognito's CloudTrail admin events of this pool to the directory sync, with a dead-letter queue", () => {
    identity.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cognito-idp'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['cognito-idp.amazonaws.com'],
          eventName: [...DIRECTORY_EVENT_NAMES],
          requestParameters: { userPoolId: [{ Ref: Match.stringLikeRegexp('PoolUserPool') }] },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId(/OwnerDirectoryDirectorySync/), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeliveryDeadLetters'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
    expect(DIRECTORY_EVENT_NAMES).toEqual(
      expect.arrayContaining([
        'AdminRemoveUserFromGroup',
        'AdminDisableUser',
        'AdminDeleteUser',
        'AdminUserGlobalSignOut',
      ]),
    );
  });

  it('parks failed syncs in a KMS-encrypted dead-letter queue (function DLQ and on-failure destination)', () => {
    const sync = resources[functionId(/OwnerDirectoryDirectorySync/)]!;
    const target = (sync.Properties as { DeadLetterConfig?: { TargetArn?: { 'Fn::GetAtt'?: string[] } } })
      .DeadLetterConfig?.TargetArn?.['Fn::GetAtt']?.[0];
    expect(target).toMatch(/DirectorySyncDeadLetters/);
    expect(resources[target!]?.Properties).toHaveProperty('KmsMasterKeyId');
    identity.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    identity.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('alarms on both dead-letter queues', () => {
    monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('DirectorySyncDeadLetters$'),
      Threshold: 0,
      AlarmDescription: Match.stringLikeRegexp('docs/runbooks/directory-sync.md'),
    });
    monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('DirectorySyncDeadLetters2$'),
    });
  });

  it('tells the functions the cache bound and the longest token lifetime', () => {
    const api = Template.fromStack(stage.api);
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ OWNER_CACHE_SECONDS: '30', AUTH_MAX_TOKEN_SECONDS: '3600' }),
      },
    });
  });
});
