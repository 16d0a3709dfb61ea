import { Annotations, CfnDeletionPolicy, CfnResource, type IAspect, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/** CloudFormation types that hold data we must never lose with a stack. */
const STATEFUL_TYPES = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::Cognito::UserPool',
  'AWS::Logs::LogGroup',
  'AWS::Backup::BackupVault',
]);

/**
 * Every log group keeps its events for a set time and is encrypted with a CMK; a log
 * group without either is an error that stops synth, naming the construct.
 */
export class LogGroupRules implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof logs.CfnLogGroup)) return;
    if (node.retentionInDays === undefined) {
      Annotations.of(node).addError('OrgRule-Logs1: log group has no retention; set one from config');
    }
    if (node.kmsKeyId === undefined) {
      Annotations.of(node).addError('OrgRule-Logs2: log group is not encrypted with a customer-managed key');
    }
  }
}

/** Every bucket blocks all public access and has a policy that denies requests without TLS. */
export class BucketRules implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof s3.CfnBucket)) return;
    const block = node.publicAccessBlockConfiguration as
      | s3.CfnBucket.PublicAccessBlockConfigurationProperty
      | undefined;
    const blocksAll =
      block !== undefined &&
      block.blockPublicAcls === true &&
      block.blockPublicPolicy === true &&
      block.ignorePublicAcls === true &&
      block.restrictPublicBuckets === true;
    if (!blocksAll) {
      Annotations.of(node).addError('OrgRule-S3-1: bucket does not block all public access');
    }
    const bucket = node.node.scope;
    const policy = bucket instanceof s3.Bucket ? bucket.policy?.document.toJSON() : undefined;
    if (!deniesInsecureTransport(policy)) {
      Annotations.of(node).addError(
        'OrgRule-S3-2: bucket policy does not deny requests without TLS (enforceSSL)',
      );
    }
  }
}

function deniesInsecureTransport(policy: unknown): boolean {
  const statements = (policy as { Statement?: Array<Record<string, unknown>> } | undefined)?.Statement ?? [];
  return statements.some(
    (s) =>
      s.Effect === 'Deny' &&
      JSON.stringify(s.Condition ?? {}) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
  );
}

/**
 * Outside throw-away environments, stateful resources must survive stack deletion and
 * replacement: DeletionPolicy and UpdateReplacePolicy must both be Retain.
 */
export class RetainStatefulRules implements IAspect {
  constructor(private readonly enforce: boolean) {}

  visit(node: IConstruct): void {
    if (!this.enforce || !(node instanceof CfnResource) || !STATEFUL_TYPES.has(node.cfnResourceType)) return;
    const { deletionPolicy, updateReplacePolicy } = node.cfnOptions;
    if (deletionPolicy !== CfnDeletionPolicy.RETAIN || updateReplacePolicy !== CfnDeletionPolicy.RETAIN) {
      Annotations.of(node).addError(
        `OrgRule-Retain: ${node.cfnResourceType} in ${Stack.of(node).stackName} must be RETAIN outside dev`,
      );
    }
  }
}
