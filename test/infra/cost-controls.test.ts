import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES, stageFor } from '../support/synth';

/**
 * Issue 18's cost targets: the settings that moved a cost line, and the controls no cost
 * change may remove from any environment (configuration may differ, controls may not).
 */
describe.each(ENV_NAMES)('cost settings and the controls they keep (%s)', (envName) => {
  const stage = stageFor(envName);
  const api = Template.fromStack(stage.api);
  const network = Template.fromStack(stage.network);
  const identity = Template.fromStack(stage.identity);
  const data = Template.fromStack(stage.data);
  const monitoring = Template.fromStack(stage.monitoring);

  it('runs the chat function at 256 MB, traced', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^POST /api/v1/chat'),
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('lets the audit stream mapping gather up to 300 s and 500 records a batch, ordered and bounded', () => {
    api.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumBatchingWindowInSeconds: 300,
      BatchSize: 500,
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: Match.anyValue() },
    });
  });

  it('keeps the web ACL with its core rules on both the load balancer and the user pool', () => {
    const acls = Object.values(api.findResources('AWS::WAFv2::WebACL'));
    expect(acls).toHaveLength(1);
    const names = (acls[0]!.Properties.Rules as Array<{ Name: string }>).map((r) => r.Name);
    expect(names).toEqual(
      expect.arrayContaining([
        'IncidentBlockList',
        'RatePerIp',
        'RatePerToken',
        'ChatRatePerToken',
        'RatePerApiKey',
        'ChatRatePerApiKey',
        'RatePerSession',
        'ChatRatePerSession',
        'BodySizeLimit',
        'AWS-AWSManagedRulesAmazonIpReputationList',
        'AWS-AWSManagedRulesCommonRuleSet',
        'AWS-AWSManagedRulesKnownBadInputsRuleSet',
        'AWS-AWSManagedRulesSQLiRuleSet',
        'BodyRulesOutsideChat',
        'AI-001-PromptInjectionPhrases',
      ]),
    );
    api.resourceCountIs('AWS::WAFv2::WebACLAssociation', 2);
    api.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 1);
  });

  it('keeps public IPv4 on the load balancer: its Cognito authentication cannot work without it', () => {
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetIpAddressType.html:
    // ALB authentication reaches Cognito over IPv4 only; dualstack-without-public-ipv4 gives 500s.
    for (const lb of Object.values(api.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))) {
      expect(lb.Properties.IpAddressType ?? 'ipv4').not.toBe('dualstack-without-public-ipv4');
    }
  });

  it('keeps the Bedrock and KMS interface endpoints and the flow log', () => {
    for (const service of ['bedrock-runtime', 'kms'])
      network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: `com.amazonaws.eu-central-1.${service}`,
      });
    network.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
  });

  it('keeps rotating customer managed keys, MFA and alarms with actions', () => {
    const keys = Object.values(data.findResources('AWS::KMS::Key'));
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(key.Properties.EnableKeyRotation).toBe(true);
    identity.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
    const alarms = Object.values(monitoring.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(40);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions?.length ?? 0).toBeGreaterThan(0);
  });
});
