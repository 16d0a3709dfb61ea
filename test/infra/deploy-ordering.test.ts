import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { environments } from '../../lib/config/environments';
import { parseEnvironmentConfig } from '../../lib/config/load';
import { configOf, ENV_NAMES, stageFor, stageWith } from '../support/synth';

describe.each(ENV_NAMES)('first-deploy ordering (%s)', (envName) => {
  it("associates the user pool with the web ACL only after the load balancer's association and the ACL's logging", () => {
    const api = Template.fromStack(stageFor(envName).api).toJSON().Resources as Record<
      string,
      { Type: string; Properties: { ResourceArn: unknown }; DependsOn?: string[] }
    >;
    const associations = Object.entries(api).filter(([, r]) => r.Type === 'AWS::WAFv2::WebACLAssociation');
    const [poolId, pool] = associations.find(([, r]) =>
      /UserPool/.test(JSON.stringify(r.Properties.ResourceArn)),
    )!;
    const [albId] = associations.find(([, r]) =>
      /LoadBalancer/.test(JSON.stringify(r.Properties.ResourceArn)),
    )!;
    const loggingId = Object.keys(api).find((id) => api[id]!.Type === 'AWS::WAFv2::LoggingConfiguration')!;
    expect(pool.DependsOn).toEqual(expect.arrayContaining([albId, loggingId]));
    // And not the other way round (no cycle, a fixed order).
    expect(api[albId]!.DependsOn ?? []).not.toContain(poolId);
  });
});

describe('Cognito email through SES (staging/prod option)', () => {
  it('uses Cognito default email unless configured', () => {
    for (const envName of ENV_NAMES) {
      const pool = Object.values(
        Template.fromStack(stageFor(envName).identity).findResources('AWS::Cognito::UserPool'),
      )[0]!;
      expect(pool.Properties.EmailConfiguration?.EmailSendingAccount ?? 'COGNITO_DEFAULT').toBe(
        'COGNITO_DEFAULT',
      );
    }
  });

  it('sends from the verified SES identity in the pool region when configured', () => {
    const staging = configOf('staging');
    const stage = stageWith({
      ...staging,
      identity: {
        ...staging.identity,
        email: {
          fromAddress: 'no-reply@example.com',
          fromName: 'OmniChat',
          sesVerifiedDomain: 'example.com',
          configurationSet: 'omnichat-staging',
        },
      },
    });
    Template.fromStack(stage.identity).hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: {
        EmailSendingAccount: 'DEVELOPER',
        From: 'OmniChat <no-reply@example.com>',
        ConfigurationSet: 'omnichat-staging',
        SourceArn: 'arn:aws:ses:eu-central-1:222222222222:identity/example.com',
      },
    });
  });

  it('refuses a sender outside the verified domain, naming the field', () => {
    const raw = structuredClone(environments.staging!) as { identity: Record<string, unknown> };
    raw.identity.email = { fromAddress: 'no-reply@other.org', sesVerifiedDomain: 'example.com' };
    expect(() => parseEnvironmentConfig('staging', raw)).toThrow(
      /staging\.identity\.email\.fromAddress: must be an address in the verified domain example\.com/,
    );
  });
});
