/**
 * Mints Cognito-shaped JWTs with real RSA keys (node:crypto, RS256 signed by hand) and forges
 * the attacks the verifier must reject. No JWT library: the point is to control every byte.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A signing key and its public JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK as Cognito publishes it (kty, n, e, kid, alg, use). */
  readonly jwk: Record<string, string>;
}

/** Generates a 2048-bit RSA signing key. */
export function generateSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const exported = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { kty: exported.kty, n: exported.n, e: exported.e, kid, alg: 'RS256', use: 'sig' },
  };
}

/** JWKS document for some keys. */
export function jwksOf(...keys: SigningKey[]): { keys: Record<string, string>[] } {
  return { keys: keys.map((key) => key.jwk) };
}

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** Encodes header and payload and signs them RS256 with `key`. */
export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: SigningKey,
): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key.privateKey);
  return `${signingInput}.${b64url(signature)}`;
}

/** The test pool's identity. */
export const TEST_REGION = 'eu-west-1';
export const TEST_POOL_ID = 'eu-west-1_TestPool1';
export const TEST_ISSUER = `https://cognito-idp.${TEST_REGION}.amazonaws.com/${TEST_POOL_ID}`;
export const TEST_CLIENT_ID = 'albclient0000000000000000a';
export const TEST_CLI_CLIENT_ID = 'cliclient00000000000000000';

/** Claims of a Cognito user access token, valid for an hour from `nowSeconds`. */
export function userAccessClaims(
  options: { sub?: string; groups?: string[]; nowSeconds?: number; clientId?: string; issuer?: string } = {},
): Record<string, unknown> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const sub = options.sub ?? '11111111-2222-3333-4444-555555555555';
  return {
    sub,
    'cognito:groups': options.groups ?? ['user'],
    iss: options.issuer ?? TEST_ISSUER,
    client_id: options.clientId ?? TEST_CLIENT_ID,
    origin_jti: 'origin-jti-1',
    event_id: 'event-1',
    token_use: 'access',
    scope: 'openid email',
    auth_time: now,
    exp: now + 3600,
    iat: now,
    jti: 'jti-1',
    username: sub,
  };
}

/** Claims of a client-credentials (machine) access token. */
export function machineAccessClaims(
  options: { clientId?: string; scopes?: string[]; nowSeconds?: number } = {},
): Record<string, unknown> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const clientId = options.clientId ?? TEST_CLIENT_ID;
  return {
    sub: clientId,
    token_use: 'access',
    scope: (options.scopes ?? ['omnichat/chat.write']).join(' '),
    auth_time: now,
    iss: TEST_ISSUER,
    exp: now + 3600,
    iat: now,
    version: 2,
    jti: 'jti-m',
    client_id: clientId,
  };
}

/** Claims of a Cognito ID token for the same user (audience = client, token_use = id). */
export function idTokenClaims(nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const access = userAccessClaims({ nowSeconds });
  return {
    sub: access.sub,
    aud: TEST_CLIENT_ID,
    'cognito:groups': ['user'],
    email_verified: true,
    token_use: 'id',
    auth_time: nowSeconds,
    iss: TEST_ISSUER,
    'cognito:username': access.sub,
    exp: nowSeconds + 3600,
    iat: nowSeconds,
    email: 'someone@example.com',
  };
}

/** Mints a properly signed token. */
export function mint(payload: Record<string, unknown>, key: SigningKey): string {
  return signJwt({ kid: key.kid, alg: 'RS256' }, payload, key);
}

/** Attack helpers: each returns a token the verifier must reject. */
export const forge = {
  /** Unsigned token, `alg: none`, empty signature. */
  algNone(payload: Record<string, unknown>, kid: string): string {
    return `${b64url(JSON.stringify({ kid, alg: 'none' }))}.${b64url(JSON.stringify(payload))}.`;
  },
  /** Key-confusion: HS256 with the RSA public key (PEM) as the HMAC secret. */
  hs256WithPublicKey(payload: Record<string, unknown>, key: SigningKey): string {
    const secret = key.publicKey.export({ format: 'pem', type: 'spki' });
    const signingInput = `${b64url(JSON.stringify({ kid: key.kid, alg: 'HS256' }))}.${b64url(JSON.stringify(payload))}`;
    return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  },
  /** Payload swapped after signing, original signature kept. */
  tamperPayload(token: string, changes: Record<string, unknown>): string {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return `${header}.${b64url(JSON.stringify({ ...claims, ...changes }))}.${signature}`;
  },
};
