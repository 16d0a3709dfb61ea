import { describe, expect, it } from 'vitest';
import { environments } from '../../lib/config/environments';
import { ConfigError, loadEnvironments, parseEnvironmentConfig } from '../../lib/config/load';

const devRaw = environments.dev!;

/** A copy of the dev config with one field replaced, addressed by path. */
function devWith(path: string, value: unknown): unknown {
  const copy = structuredClone(devRaw) as Record<string, unknown>;
  const keys = path.split('.');
  let target = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys.at(-1)!] = value;
  return copy;
}

describe('environment configuration', () => {
  it('parses all three committed environments', () => {
    expect(loadEnvironments(undefined).map((c) => c.name)).toEqual(['dev', 'staging', 'prod']);
  });

  it('selects one environment with -c env=NAME', () => {
    expect(loadEnvironments('staging').map((c) => c.name)).toEqual(['staging']);
  });

  it('rejects an unknown environment, listing the known ones', () => {
    expect(() => loadEnvironments('qa')).toThrow(/Unknown environment "qa".*dev, staging, prod/);
  });

  it.each([
    ['account', '12345', /dev\.account: must be a 12-digit AWS account id/],
    ['region', 'europe', /dev\.region: must be an AWS region/],
    ['network.vpcCidr', '10.0.0.0/33', /dev\.network\.vpcCidr: must be an IPv4 CIDR/],
    ['network.maxAzs', 3, /dev\.network\.maxAzs: is 3 but only 2 availability zones are listed/],
    [
      'network.availabilityZones',
      ['us-east-1a', 'eu-central-1b'],
      /dev\.network\.availabilityZones\.0: us-east-1a is not in region/,
    ],
    ['logRetentionDays', 45, /dev\.logRetentionDays: must be one of the CloudWatch Logs retention periods/],
    ['logRetentionDays', 90, /dev\.logRetentionDays: must be at least 365 days/],
    ['dataRetentionDays', 0, /dev\.dataRetentionDays/],
    ['alertEmails', ['not-an-email'], /dev\.alertEmails\.0: must be an email address/],
    ['alertEmails', [], /dev\.alertEmails/],
    ['allowedIngressCidrs', ['0.0.0.0'], /dev\.allowedIngressCidrs\.0: must be an IPv4 CIDR/],
    ['models.defaultModelId', 'openai.gpt', /dev\.models\.defaultModelId: must be one of models\.allowList/],
    ['removalPolicy', 'keep', /dev\.removalPolicy/],
    [
      'audit.archiveRetentionDays',
      7,
      /dev\.audit\.archiveRetentionDays: must be at least audit\.tableRetentionDays/,
    ],
    ['unexpectedField', true, /Unrecognized key.*unexpectedField/],
  ])('rejects %s = %j with a message naming the field', (path, value, message) => {
    expect(() => parseEnvironmentConfig('dev', devWith(path, value))).toThrow(message);
  });

  it.each([
    ['removalPolicy', 'destroy', /prod\.removalPolicy: must be retain in the production tier/],
    ['terminationProtection', false, /prod\.terminationProtection: must be true in the production tier/],
    [
      'audit.objectLockMode',
      'GOVERNANCE',
      /prod\.audit\.objectLockMode: must be COMPLIANCE in the production tier/,
    ],
  ])('outside dev, rejects %s = %j', (path, value, message) => {
    const prod = structuredClone(environments.prod!) as Record<string, unknown>;
    const keys = path.split('.');
    let target = prod;
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[keys.at(-1)!] = value;
    expect(() => parseEnvironmentConfig('prod', prod)).toThrow(message);
  });

  it('keeps interface endpoints in at least two zones in the production tier, one is fine in dev', () => {
    const prod = structuredClone(environments.prod!) as { network: Record<string, unknown> };
    prod.network.interfaceEndpointAzs = 1;
    expect(() => parseEnvironmentConfig('prod', prod)).toThrow(
      /prod\.network\.interfaceEndpointAzs: is 1, but the production tier needs interface endpoints in at least 2 zones/,
    );
    const staging = structuredClone(environments.staging!) as { network: Record<string, unknown> };
    staging.network.maxAzs = 1;
    expect(() => parseEnvironmentConfig('staging', staging)).toThrow(
      /staging\.network\.interfaceEndpointAzs: is 1/,
    );
    expect(
      parseEnvironmentConfig('dev', structuredClone(environments.dev!)).network.interfaceEndpointAzs,
    ).toBe(1);
  });

  it('decides by the typed tier, not by the name', () => {
    const devAsProduction = { ...structuredClone(environments.dev!), tier: 'production' };
    expect(() => parseEnvironmentConfig('dev', devAsProduction)).toThrow(
      /dev\.removalPolicy: must be retain in the production tier/,
    );
    const sandbox = { ...structuredClone(environments.dev!), name: 'sandbox' };
    expect(parseEnvironmentConfig('sandbox', sandbox)).toMatchObject({
      tier: 'development',
      removalPolicy: 'destroy',
    });
  });

  it('requires the tier, naming the field', () => {
    const { tier: _tier, ...untiered } = structuredClone(environments.prod!);
    expect(() => parseEnvironmentConfig('prod', untiered)).toThrow(/prod\.tier/);
  });

  it('refuses an archive-lag threshold the 300 s batching window alone would reach', () => {
    const raw = devWith('monitoring', { thresholds: { archiveLagMinutes: 5 } });
    expect(() => parseEnvironmentConfig('dev', raw)).toThrow(/archiveLagMinutes/);
    expect(() =>
      parseEnvironmentConfig('dev', devWith('monitoring', { thresholds: { archiveLagMinutes: 10 } })),
    ).not.toThrow();
  });

  it('throws a ConfigError listing every bad field at once', () => {
    const raw = devWith('account', 'x') as Record<string, unknown>;
    raw.region = 'nowhere';
    const error = (() => {
      try {
        parseEnvironmentConfig('dev', raw);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/dev\.account/);
    expect(String(error)).toMatch(/dev\.region/);
  });
});
