import { generateKeyPairSync } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type HttpGet,
  handleEvent,
  JwksResolutionError,
  jwksUrl,
  MAX_JWKS_BYTES,
  parseJwks,
  resolveJwks,
} from '../../lambda/deploy/jwks-resolver';

const REGION = 'eu-central-1';
const POOL = 'eu-central-1_AbC123xyz';
const URL_OF_POOL = `https://cognito-idp.${REGION}.amazonaws.com/${POOL}/.well-known/jwks.json`;

/** A public RSA JWK as Cognito publishes it, from a real key pair. */
function cognitoJwk(kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...publicKey.export({ format: 'jwk' }), alg: 'RS256', kid, use: 'sig' };
}
const twoKeys = { keys: [cognitoJwk('key-1'), cognitoJwk('key-2')] };

/** A fake HTTP GET answering a script of responses (or throwing), recording the URLs asked. */
function scriptedGet(script: Array<{ status: number; body: string } | Error>): HttpGet & { urls: string[] } {
  const urls: string[] = [];
  const get = async (url: string) => {
    urls.push(url);
    const next = script.shift();
    if (next === undefined) throw new Error('no more scripted responses');
    if (next instanceof Error) throw next;
    return next;
  };
  return Object.assign(get, { urls });
}

const noSleep = { sleep: async () => undefined };

function event(type: 'Create' | 'Update' | 'Delete', userPoolId = POOL): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-central-1:111111111111:function:resolver',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-central-1:111111111111:stack/dev-identity/1',
    RequestId: 'req-1',
    LogicalResourceId: 'Jwks4EFE09A7',
    ResourceType: 'Custom::CognitoJwks',
    ResourceProperties: { ServiceToken: 'x', Region: REGION, UserPoolId: userPoolId },
  };
  if (type === 'Create') return { ...common, RequestType: 'Create' };
  if (type === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: `jwks-${POOL}`,
      OldResourceProperties: { ServiceToken: 'x', Region: REGION, UserPoolId: POOL },
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: `jwks-${POOL}` };
}

describe('jwksUrl', () => {
  it('builds the pool JWKS URL of the region', () => {
    expect(jwksUrl(REGION, POOL)).toBe(URL_OF_POOL);
  });

  it.each([
    ['us-east-1_AbC123xyz', /is not a pool of eu-central-1/],
    ['eu-central-1_../../evil', /is not a pool of/],
    ['', /is not a pool of/],
  ])('rejects pool id %j', (poolId, message) => {
    expect(() => jwksUrl(REGION, poolId)).toThrow(message);
  });
});

describe('parseJwks', () => {
  it('keeps only the public RSA fields of each key, in a stable order', () => {
    // Prepare: a key with a private exponent that must never be passed on.
    const withPrivate = { keys: [{ ...twoKeys.keys[0], d: 'secret', extra: 1 }] };
    // Act
    const [key] = parseJwks(JSON.stringify(withPrivate));
    // Assess
    expect(Object.keys(key!)).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(key).not.toHaveProperty('d');
  });

  it.each([
    ['not JSON', '<html>', /not JSON/],
    ['no keys', '{}', /1 to 10 keys/],
    ['empty keys', '{"keys":[]}', /1 to 10 keys/],
    ['an EC key', JSON.stringify({ keys: [{ ...twoKeys.keys[0], kty: 'EC' }] }), /not an RSA key/],
    ['an HS256 key', JSON.stringify({ keys: [{ ...twoKeys.keys[0], alg: 'HS256' }] }), /HS256, not RS256/],
    [
      'an encryption key',
      JSON.stringify({ keys: [{ ...twoKeys.keys[0], use: 'enc' }] }),
      /not a signing key/,
    ],
    ['a key without kid', JSON.stringify({ keys: [{ ...twoKeys.keys[0], kid: undefined }] }), /has no kid/],
    ['a bad modulus', JSON.stringify({ keys: [{ ...twoKeys.keys[0], n: 'a+b/c=' }] }), /not base64url/],
    ['null', 'null', /1 to 10 keys/],
  ])('rejects %s', (_case, body, message) => {
    expect(() => parseJwks(body)).toThrow(message);
  });
});

describe('resolveJwks', () => {
  it('returns the compact JWKS from the pool URL', async () => {
    const get = scriptedGet([{ status: 200, body: JSON.stringify(twoKeys, null, 2) }]);
    const jwks = await resolveJwks(REGION, POOL, { get, ...noSleep });
    expect(get.urls).toEqual([URL_OF_POOL]);
    expect(jwks).not.toMatch(/\s/);
    expect((JSON.parse(jwks) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)).toEqual([
      'key-1',
      'key-2',
    ]);
  });

  it('retries transport failures, 404 (new pool) and 5xx, waiting longer each time', async () => {
    const waits: number[] = [];
    const get = scriptedGet([
      new Error('ECONNRESET'),
      { status: 404, body: '' },
      { status: 503, body: '' },
      { status: 200, body: JSON.stringify(twoKeys) },
    ]);
    await expect(
      resolveJwks(REGION, POOL, { get, sleep: async (ms) => void waits.push(ms) }),
    ).resolves.toContain('key-2');
    expect(waits).toEqual([2000, 4000, 6000]);
  });

  it('gives up after the last attempt, naming the URL and the last problem', async () => {
    const get = scriptedGet([
      { status: 500, body: '' },
      { status: 500, body: '' },
    ]);
    await expect(resolveJwks(REGION, POOL, { get, attempts: 2, ...noSleep })).rejects.toThrow(
      `Could not fetch ${URL_OF_POOL}: HTTP 500`,
    );
  });

  it('does not retry a 403 or a malformed document', async () => {
    const forbidden = scriptedGet([{ status: 403, body: '' }]);
    await expect(resolveJwks(REGION, POOL, { get: forbidden, ...noSleep })).rejects.toThrow(/HTTP 403/);
    expect(forbidden.urls).toHaveLength(1);
    const malformed = scriptedGet([{ status: 200, body: '{"keys":"x"}' }]);
    await expect(resolveJwks(REGION, POOL, { get: malformed, ...noSleep })).rejects.toThrow(
      JwksResolutionError,
    );
    expect(malformed.urls).toHaveLength(1);
  });

  it(`rejects a JWKS over ${MAX_JWKS_BYTES} bytes (the custom-resource response limit)`, async () => {
    const many = { keys: Array.from({ length: 5 }, (_, i) => cognitoJwk(`key-${i}`)) };
    const get = scriptedGet([{ status: 200, body: JSON.stringify(many) }]);
    await expect(resolveJwks(REGION, POOL, { get, ...noSleep })).rejects.toThrow(/larger than 2048 bytes/);
  });
});

describe('handleEvent', () => {
  it.each(['Create', 'Update'] as const)(
    'answers %s with the JWKS and a pool-specific physical id',
    async (type) => {
      const get = scriptedGet([{ status: 200, body: JSON.stringify(twoKeys) }]);
      const response = await handleEvent(event(type), { get, ...noSleep });
      expect(response).toMatchObject({
        Status: 'SUCCESS',
        PhysicalResourceId: `jwks-${POOL}`,
        RequestId: 'req-1',
        LogicalResourceId: 'Jwks4EFE09A7',
      });
      expect(JSON.parse(String(response.Data?.Jwks))).toEqual({ keys: parseJwks(JSON.stringify(twoKeys)) });
    },
  );

  it('answers Delete without fetching anything', async () => {
    const get = scriptedGet([]);
    const response = await handleEvent(event('Delete'), { get, ...noSleep });
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `jwks-${POOL}` });
    expect(get.urls).toEqual([]);
  });

  it('fails a Create with a clear reason and a physical id, never a stack trace', async () => {
    const get = scriptedGet([{ status: 200, body: 'garbage' }]);
    const response = await handleEvent(event('Create'), { get, ...noSleep });
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toBe('JWKS endpoint answered something that is not JSON');
    expect(response.PhysicalResourceId).toBe('jwks-unresolved-req-1');
  });

  it('fails on a pool id of another region without fetching', async () => {
    const get = scriptedGet([]);
    const response = await handleEvent(event('Create', 'us-east-1_Abc'), { get, ...noSleep });
    expect(response).toMatchObject({
      Status: 'FAILED',
      Reason: expect.stringMatching(/is not a pool of eu-central-1/),
    });
    expect(get.urls).toEqual([]);
  });

  it('reports a transport failure after its retries and keeps the physical id on Update', async () => {
    const get: HttpGet = async () => {
      throw new Error('getaddrinfo ENOTFOUND');
    };
    const response = await handleEvent(event('Update'), { get, ...noSleep });
    expect(response).toMatchObject({
      Status: 'FAILED',
      Reason: `Could not fetch ${URL_OF_POOL}: getaddrinfo ENOTFOUND`,
      PhysicalResourceId: `jwks-${POOL}`,
    });
  });

  it('hides an unexpected error behind a generic reason', async () => {
    const get = scriptedGet([{ status: 503, body: '' }]);
    const sleep = async () => {
      throw new TypeError('internal detail');
    };
    const response = await handleEvent(event('Create'), { get, sleep });
    expect(response).toMatchObject({ Status: 'FAILED', Reason: 'JWKS resolution failed unexpectedly' });
  });
});
