import { Stack } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/**
 * A Lambda function as the only target of one target group, invocable by that target group
 * alone. CDK's `LambdaTarget` grants `elasticloadbalancing.amazonaws.com` without a source, so
 * any load balancer in any account that learned the function ARN could invoke it (confused
 * deputy). Here the permission names this account and this target group.
 *
 * The target group checks the permission when it registers the function, so the permission
 * must exist first and cannot reference the group's generated ARN (a dependency cycle). The
 * group therefore gets a name fixed at synthesis (`targetGroupName`), and the permission's
 * source is `targetgroup/<name>/*`: target group names are unique per account and region,
 * so the pattern matches exactly this group.
 */
export class ScopedLambdaTarget implements elbv2.IApplicationLoadBalancerTarget {
  /** The resource-based permission, once attached. */
  permission?: lambda.CfnPermission;

  /**
   * @param scope where the permission is created
   * @param id construct id of the permission
   * @param fn the function to invoke
   * @param targetGroupName the physical name given to the target group
   */
  constructor(
    private readonly scope: Construct,
    private readonly id: string,
    private readonly fn: lambda.IFunction,
    private readonly targetGroupName: string,
  ) {}

  attachToApplicationTargetGroup(targetGroup: elbv2.IApplicationTargetGroup): elbv2.LoadBalancerTargetProps {
    const { account, region, partition } = Stack.of(this.scope);
    this.permission = new lambda.CfnPermission(this.scope, this.id, {
      action: 'lambda:InvokeFunction',
      functionName: this.fn.functionArn,
      principal: 'elasticloadbalancing.amazonaws.com',
      sourceAccount: account,
      sourceArn: `arn:${partition}:elasticloadbalancing:${region}:${account}:targetgroup/${this.targetGroupName}/*`,
    });
    targetGroup.node.addDependency(this.permission);
    return { targetType: elbv2.TargetType.LAMBDA, targetJson: { id: this.fn.functionArn } };
  }
}
