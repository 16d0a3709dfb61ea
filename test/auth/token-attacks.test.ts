import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthnFailureReason } from '../../lambda/auth/principal';
import {
  createAccessTokenVerifier,
  MAX_CREDENTIAL_HEADER_BYTES,
  refusingFetcher,
  TokenRejectedError,
} from '../../lambda/auth/token-verifier';
import {
  forge,
  generateSigningKey,
  idTokenClaims,
  jwksOf,
  machineAccessClaims,
  mint,
  type SigningKey,
  signJwt,
  TEST_CLI_CLIENT_ID,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  userAccessClaims,
} from '../support/tokens';
import { albEvent, protectedHandler } from './harness';

let poolKey: SigningKey;
let rotatedKey: SigningKey;
let attackerKey: SigningKey;

beforeAll(() => {
  poolKey = generateSigningKey('pool-key-1');
  rotatedKey = generateSigningKey('pool-key-2');
  attackerKey = generateSigningKey('attacker-key');
});

afterEach(() => vi.restoreAllMocks());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const verifier = () =>
  createAccessTokenVerifier({
    issuer: TEST_ISSUER,
    jwks: jwksOf(poolKey, rotatedKey),
    clientIds: [TEST_CLIENT_ID, TEST_CLI_CLIENT_ID],
  });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

type Attack = [name: string, headers: () => Record<string, string>, reason: AuthnFailureReason];

const attacks: Attack[] = [
  ['alg none', () => bearer(forge.algNone(userAccessClaims(), poolKey.kid)), 'malformed_token'],
  [
    'alg none with a fake signature',
    () => bearer(`${forge.algNone(userAccessClaims(), poolKey.kid)}AAAA`),
    'unsupported_algorithm',
  ],
  [
    'HS256 signed with the RSA public key',
    () => bearer(forge.hs256WithPublicKey(userAccessClaims(), poolKey)),
    'unsupported_algorithm',
  ],
  [
    'RS384 header on an RS256 key',
    () => bearer(signJwt({ kid: poolKey.kid, alg: 'RS384' }, userAccessClaims(), poolKey)),
    'unsupported_algorithm',
  ],
  [
    'expired an hour ago',
    () => bearer(mint({ ...userAccessClaims({ nowSeconds: nowSeconds() - 7200 }) }, poolKey)),
    'expired',
  ],
  [
    'expired just beyond the clock skew',
    () => bearer(mint({ ...userAccessClaims(), exp: nowSeconds() - 10 }, poolKey)),
    'expired',
  ],
  [
    'not yet valid (nbf in the future)',
    () => bearer(mint({ ...userAccessClaims(), nbf: nowSeconds() + 600 }, poolKey)),
    'not_yet_valid',
  ],
  [
    'issued in the future (iat)',
    () => bearer(mint({ ...userAccessClaims(), iat: nowSeconds() + 600 }, poolKey)),
    'not_yet_valid',
  ],
  [
    'wrong issuer',
    () => bearer(mint(userAccessClaims({ issuer: 'https://idp.evil.example/eu-west-1_TestPool1' }), poolKey)),
    'wrong_issuer',
  ],
  [
    'another user pool (same region)',
    () =>
      bearer(
        mint(
          userAccessClaims({ issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool' }),
          poolKey,
        ),
      ),
    'wrong_issuer',
  ],
  [
    'another user pool with its own key',
    () =>
      bearer(
        mint(
          userAccessClaims({ issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool' }),
          attackerKey,
        ),
      ),
    'wrong_issuer',
  ],
  [
    'wrong client id',
    () => bearer(mint(userAccessClaims({ clientId: 'someotherclient00000000000' }), poolKey)),
    'wrong_client',
  ],
  ['id token presented as access token', () => bearer(mint(idTokenClaims(), poolKey)), 'wrong_token_use'],
  [
    'token_use missing',
    () => bearer(mint({ ...userAccessClaims(), token_use: undefined }, poolKey)),
    'wrong_token_use',
  ],
  ['unknown kid', () => bearer(mint(userAccessClaims(), attackerKey)), 'unknown_key'],
  ['no kid', () => bearer(signJwt({ alg: 'RS256' }, userAccessClaims(), poolKey)), 'unknown_key'],
  [
    'known kid, signed by another key',
    () => bearer(signJwt({ kid: poolKey.kid, alg: 'RS256' }, userAccessClaims(), attackerKey)),
    'invalid_signature',
  ],
  [
    'tampered payload (groups -> admin), original signature',
    () => bearer(forge.tamperPayload(mint(userAccessClaims(), poolKey), { 'cognito:groups': ['admin'] })),
    'invalid_signature',
  ],
  ['truncated signature', () => bearer(mint(userAccessClaims(), poolKey).slice(0, -12)), 'invalid_signature'],
  [
    'truncated to two parts',
    () => bearer(mint(userAccessClaims(), poolKey).split('.').slice(0, 2).join('.')),
    'malformed_token',
  ],
  ['garbage', () => bearer('not-a-jwt'), 'malformed_token'],
  ['three garbage parts', () => bearer('abc.def.ghi'), 'malformed_token'],
  [
    'payload is a JSON array',
    () =>
      bearer(
        `${Buffer.from('{"alg":"RS256","kid":"pool-key-1"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.AAAA`,
      ),
    'malformed_token',
  ],
  ['no exp claim', () => bearer(mint({ ...userAccessClaims(), exp: undefined }, poolKey)), 'invalid_claims'],
  [
    'groups claim is not a list',
    () => bearer(mint({ ...userAccessClaims(), 'cognito:groups': 'admin' }, poolKey)),
    'invalid_claims',
  ],
  [
    'machine token whose sub is not its client',
    () => bearer(mint({ ...machineAccessClaims(), sub: 'someone-else' }, poolKey)),
    'invalid_claims',
  ],
  [
    'oversized Authorization header',
    () => bearer(`${mint(userAccessClaims(), poolKey)}${'A'.repeat(MAX_CREDENTIAL_HEADER_BYTES)}`),
    'oversized_credentials',
  ],
  [
    'oversized ALB header',
    () => ({ 'x-amzn-oidc-accesstoken': 'A'.repeat(MAX_CREDENTIAL_HEADER_BYTES + 1) }),
    'oversized_credentials',
  ],
  ['Basic instead of Bearer', () => ({ authorization: 'Basic dXNlcjpwYXNz' }), 'malformed_header'],
  ['Bearer with no token', () => ({ authorization: 'Bearer ' }), 'malformed_header'],
  [
    'two different credentials',
    () => ({ ...bearer(mint(userAccessClaims(), poolKey)), 'x-api-key': `ak_${'A'.repeat(43)}` }),
    'ambiguous_credentials',
  ],
  ['no credentials at all', () => ({}), 'missing_credentials'],
];

describe('token attack matrix', () => {
  it.each(attacks)('%s -> 401', async (_name, headers, reason) => {
    // Prepare
    const fetchSpy = vi.spyOn(refusingFetcher, 'fetch');
    const { invoke, decisions } = protectedHandler({ verifier: verifier() });
    const sentHeaders = headers();

    // Act
    const response = await invoke(albEvent('POST', '/api/v1/chat', sentHeaders));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.headers?.['WWW-Authenticate']).toMatch(/^Bearer realm="omnichat"/);
    const body = JSON.parse(response.body ?? '{}') as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unauthenticated');
    expect(response.body).not.toMatch(/\n\s+at |Error:|node_modules/);
    for (const value of Object.values(sentHeaders)) {
      if (value.length > 20) expect(response.body).not.toContain(value.slice(-20));
    }
    expect(decisions).toEqual([expect.objectContaining({ type: 'authn', outcome: 'failure', reason })]);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('valid tokens', () => {
  it.each([
    ['Authorization: Bearer', (token: string) => ({ authorization: `Bearer ${token}` })],
    ['Authorization, mixed case', (token: string) => ({ Authorization: `Bearer ${token}` })],
    ['ALB x-amzn-oidc-accesstoken', (token: string) => ({ 'x-amzn-oidc-accesstoken': token })],
    ['ALB header, other casing', (token: string) => ({ 'X-Amzn-Oidc-Accesstoken': token })],
    [
      'same token in both headers',
      (token: string) => ({ authorization: `Bearer ${token}`, 'x-amzn-oidc-accesstoken': token }),
    ],
  ])('%s -> 200 with the user principal', async (_name, headers) => {
    // Prepare
    const token = mint(userAccessClaims({ groups: ['developer'] }), poolKey);
    const { invoke, decisions } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(albEvent('POST', '/api/v1/chat', headers(token)));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '{}')).toEqual({
      kind: 'user',
      sub: '11111111-2222-3333-4444-555555555555',
      permissions: ['chat:read', 'chat:write', 'keys:manage', 'metrics:read'],
    });
    expect(decisions.map((decision) => `${decision.type}:${decision.outcome}`)).toEqual([
      'authn:success',
      'authz:allow',
    ]);
  });

  it.each([
    ['the rotated (second) key', () => mint(userAccessClaims(), rotatedKey)],
    ['the CLI client', () => mint(userAccessClaims({ clientId: TEST_CLI_CLIENT_ID }), poolKey)],
    ['expiry within the clock skew', () => mint({ ...userAccessClaims(), exp: nowSeconds() - 2 }, poolKey)],
    [
      'the global issuer spelling',
      () =>
        mint(
          userAccessClaims({
            issuer: 'https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1',
          }),
          poolKey,
        ),
    ],
  ])('accepts a token from %s', (_name, token) => {
    // Act
    const verified = verifier().verify(token());

    // Assess
    expect(verified.sub).toBe('11111111-2222-3333-4444-555555555555');
  });

  it('maps a client-credentials token to a machine principal with scope permissions', async () => {
    // Prepare
    const token = mint(
      machineAccessClaims({ scopes: ['omnichat/chat.write', 'omnichat/chat.read'] }),
      poolKey,
    );
    const { invoke } = protectedHandler({ verifier: verifier() });

    // Act
    const response = await invoke(albEvent('POST', '/api/v1/chat', bearer(token)));

    // Assess
    expect(JSON.parse(response.body ?? '{}')).toEqual({
      kind: 'machine',
      sub: TEST_CLIENT_ID,
      permissions: ['chat:read', 'chat:write'],
    });
  });
});

describe('verifier configuration', () => {
  it.each([
    ['no client ids', { clientIds: [] as string[] }, /clientIds/],
    ['a JWKS without keys', { jwks: { keys: [] } }, /no keys/],
    ['a JWKS that is not an object', { jwks: 'keys' }, /JSON object/],
    [
      'an EC key in the JWKS',
      { jwks: { keys: [{ kty: 'EC', kid: 'x', crv: 'P-256', x: 'a', y: 'b' }] } },
      /RSA signing key/,
    ],
    ['a plain-http remote issuer', { issuer: 'http://idp.example.com/pool' }, /https or loopback/],
  ])('refuses %s', (_name, override, message) => {
    // Act + Assess
    expect(() =>
      createAccessTokenVerifier({
        issuer: TEST_ISSUER,
        jwks: jwksOf(poolKey),
        clientIds: [TEST_CLIENT_ID],
        ...override,
      }),
    ).toThrow(message);
  });

  it('never fetches: an unknown kid is a rejection even though a JWKS URI exists', () => {
    // Prepare
    const fetchSpy = vi.spyOn(refusingFetcher, 'fetch');
    const token = mint(userAccessClaims(), attackerKey);

    // Act
    const attempt = () => verifier().verify(token);

    // Assess
    expect(attempt).toThrow(TokenRejectedError);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('the refusing fetcher rejects any fetch attempt', async () => {
    // Act + Assess
    await expect(refusingFetcher.fetch('https://example.com/.well-known/jwks.json')).rejects.toThrow(
      /refused/,
    );
  });
});

describe('local-issuer mode (cognito-local) applies the same rules', () => {
  const LOCAL_ISSUER = 'http://127.0.0.1:9229/local_Pool1234';
  const localClaims = (overrides: Record<string, unknown> = {}) => ({
    ...userAccessClaims({ issuer: LOCAL_ISSUER }),
    ...overrides,
  });
  const localVerifier = () =>
    createAccessTokenVerifier({ issuer: LOCAL_ISSUER, jwks: jwksOf(poolKey), clientIds: [TEST_CLIENT_ID] });

  it.each([
    ['alg none', () => `${forge.algNone(localClaims(), poolKey.kid)}AAAA`, 'unsupported_algorithm'],
    [
      'HS256 with the public key',
      () => forge.hs256WithPublicKey(localClaims(), poolKey),
      'unsupported_algorithm',
    ],
    ['expired', () => mint(localClaims({ exp: nowSeconds() - 60 }), poolKey), 'expired'],
    ['not yet valid', () => mint(localClaims({ nbf: nowSeconds() + 600 }), poolKey), 'not_yet_valid'],
    [
      'wrong issuer',
      () => mint(localClaims({ iss: 'http://127.0.0.1:9229/local_Other' }), poolKey),
      'wrong_issuer',
    ],
    ['wrong client', () => mint(localClaims({ client_id: 'other' }), poolKey), 'wrong_client'],
    ['id token', () => mint({ ...idTokenClaims(), iss: LOCAL_ISSUER }, poolKey), 'wrong_token_use'],
    ['unknown kid', () => mint(localClaims(), attackerKey), 'unknown_key'],
    [
      'tampered payload',
      () => forge.tamperPayload(mint(localClaims(), poolKey), { sub: 'admin' }),
      'invalid_signature',
    ],
    ['no exp', () => mint(localClaims({ exp: undefined }), poolKey), 'invalid_claims'],
  ] as [string, () => string, AuthnFailureReason][])('%s is rejected', (_name, token, reason) => {
    // Act
    let caught: unknown;
    try {
      localVerifier().verify(token());
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(TokenRejectedError);
    expect((caught as TokenRejectedError).reason).toBe(reason);
  });

  it('accepts a valid local token', () => {
    expect(localVerifier().verify(mint(localClaims(), poolKey)).issuer).toBe(LOCAL_ISSUER);
  });
});
