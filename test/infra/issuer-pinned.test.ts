import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { jwksUrl } from '../../lambda/deploy/jwks-resolver';
import {
  cfnLintOverrideSpec,
  writeCfnLintOverrideSpec,
} from '../../lib/compliance/cfn-lint-schema-extensions';
import { issuerUrlOf, USER_POOL_ISSUER_TYPE } from '../../lib/constructs/identity/user-pool';
import { ensurePythonTools } from '../../scripts/python-tools.mjs';
import { configOf, ENV_NAMES, stageFor } from '../support/synth';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Every value of `key` anywhere in `node`. */
function valuesOf(node: unknown, key: string, found: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const v of node) valuesOf(v, key, found);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) found.push(v);
      valuesOf(v, key, found);
    }
  }
  return found;
}

describe.each(ENV_NAMES)('issuer of %s', (envName) => {
  const config = configOf(envName);
  const stage = stageFor(envName);
  const identity = Template.fromStack(stage.identity).toJSON() as { Resources: Resources };
  const api = Template.fromStack(stage.api).toJSON();

  it('sets the pool issuer type explicitly, on the pool whose logical id is pinned', () => {
    expect(identity.Resources.PoolUserPool04A1AA15?.Properties?.IssuerConfiguration).toEqual({
      Type: USER_POOL_ISSUER_TYPE,
    });
    expect(USER_POOL_ISSUER_TYPE).toBe('ORIGINAL');
  });

  it("gives the ALB's JwtValidationConfig.Issuer and every AUTH_ISSUER the one issuerUrlOf() value", () => {
    const expected = {
      'Fn::Join': [
        '',
        [
          `${issuerUrlOf(config.region, '')}`,
          { 'Fn::ImportValue': expect.stringMatching(/ExportsOutputRefPoolUserPool04A1AA15/) },
        ],
      ],
    };
    const jwtIssuers = valuesOf(valuesOf(api, 'JwtValidationConfig'), 'Issuer');
    const authIssuers = valuesOf(api, 'AUTH_ISSUER');
    expect(jwtIssuers.length).toBeGreaterThan(0);
    expect(authIssuers.length).toBeGreaterThan(0);
    for (const value of [...jwtIssuers, ...authIssuers]) expect(value).toEqual(expected);
  });
});

describe('issuer and JWKS resolver agree', () => {
  it('the deploy-time JWKS resolver fetches <issuerUrlOf()>/.well-known/jwks.json', () => {
    const pool = 'eu-central-1_AbCdEf123';
    expect(jwksUrl('eu-central-1', pool)).toBe(`${issuerUrlOf('eu-central-1', pool)}/.well-known/jwks.json`);
  });

  it('issuerUrlOf() follows the documented host of each issuer type', () => {
    expect(issuerUrlOf('eu-west-1', 'eu-west-1_X', 'ORIGINAL')).toBe(
      'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X',
    );
    expect(issuerUrlOf('eu-west-1', 'eu-west-1_X', 'UPDATED')).toBe(
      'https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X',
    );
  });
});

describe('cfn-lint schema extension for IssuerConfiguration (real cfn-lint)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnichat-cfn-lint-ext-'));
  let cfnLint = '';
  beforeAll(() => {
    cfnLint = ensurePythonTools().cfnLint;
  });

  const pool = (issuerConfiguration: unknown) => ({
    Resources: {
      Pool: { Type: 'AWS::Cognito::UserPool', Properties: { IssuerConfiguration: issuerConfiguration } },
    },
  });
  /** Rule ids cfn-lint reports at the pool's IssuerConfiguration. */
  function lint(template: unknown, withExtension: boolean): string[] {
    const file = join(dir, `t-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(template));
    const args = ['--format', 'json'];
    if (withExtension) args.push('--override-spec', writeCfnLintOverrideSpec(dir));
    const run = spawnSync(cfnLint, [...args, '--', file], { encoding: 'utf8' });
    expect(run.status, run.stderr).not.toBe(1);
    const matches = JSON.parse(run.stdout || '[]') as {
      Rule: { Id: string };
      Location: { Path: unknown[] };
    }[];
    return matches.filter((m) => m.Location.Path.includes('IssuerConfiguration')).map((m) => m.Rule.Id);
  }

  it('carries exactly the documented property (one resource type, one property)', () => {
    const spec = cfnLintOverrideSpec();
    expect(Object.keys(spec.Patches)).toEqual(['AWS::Cognito::UserPool']);
    expect(JSON.stringify(spec)).toContain('"enum":["ORIGINAL","UPDATED"]');
  });

  it('without the extension cfn-lint 1.51 rejects the documented property (why the extension exists)', () => {
    expect(lint(pool({ Type: 'ORIGINAL' }), false)).toContain('E3002');
  }, 60_000);

  it('with it, both documented values pass', () => {
    expect(lint(pool({ Type: 'ORIGINAL' }), true)).toEqual([]);
    expect(lint(pool({ Type: 'UPDATED' }), true)).toEqual([]);
  }, 60_000);

  it('with it, an undocumented value or key is still an error', () => {
    expect(lint(pool({ Type: 'NEWEST' }), true)).toContain('E3030');
    expect(lint(pool({ Type: 'ORIGINAL', Url: 'https://x' }), true)).toContain('E3002');
  }, 60_000);
});
