import { App, Aspects, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { BucketRules, LogGroupRules, RetainStatefulRules } from '../../lib/aspects/org-rules';

function stackWithRules(enforceRetain: boolean): Stack {
  const stack = new Stack(new App(), 'Rules');
  Aspects.of(stack).add(new LogGroupRules());
  Aspects.of(stack).add(new BucketRules());
  Aspects.of(stack).add(new RetainStatefulRules(enforceRetain));
  return stack;
}

const errorsOf = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findError('*', Match.anyValue())
    .map((m) => String(m.entry.data));

describe('org-rule aspects', () => {
  it('flags a log group without retention or CMK', () => {
    const stack = stackWithRules(false);
    new logs.LogGroup(stack, 'Bare', {
      retention: logs.RetentionDays.INFINITE,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(errorsOf(stack)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/OrgRule-Logs1/),
        expect.stringMatching(/OrgRule-Logs2/),
      ]),
    );
  });

  it('flags a bucket that allows public access or plain HTTP', () => {
    const stack = stackWithRules(false);
    new s3.Bucket(stack, 'Open', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY });
    expect(errorsOf(stack)).toEqual(
      expect.arrayContaining([expect.stringMatching(/OrgRule-S3-1/), expect.stringMatching(/OrgRule-S3-2/)]),
    );
  });

  it('accepts a bucket that blocks public access and enforces TLS', () => {
    const stack = stackWithRules(false);
    new s3.Bucket(stack, 'Closed', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, enforceSSL: true });
    expect(errorsOf(stack)).toEqual([]);
  });

  it.each([
    [true, RemovalPolicy.DESTROY, 1],
    [true, RemovalPolicy.RETAIN, 0],
    [false, RemovalPolicy.DESTROY, 0],
  ])(
    'with retain enforced=%s, a bucket with removal policy %s yields %i errors',
    (enforce, policy, count) => {
      const stack = stackWithRules(enforce);
      new s3.Bucket(stack, 'Data', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        removalPolicy: policy,
      });
      expect(errorsOf(stack).filter((e) => e.includes('OrgRule-Retain'))).toHaveLength(count);
    },
  );
});
