/**
 * Verifies Cognito access tokens offline. The functions run in isolated subnets with no route
 * to the pool's JWKS endpoint, so the JWKS is resolved at deploy time and preloaded here; the
 * verifier never fetches (a token whose `kid` is not in the preloaded set is rejected).
 */
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import {
  CognitoJwtInvalidClientIdError,
  CognitoJwtInvalidTokenUseError,
  JwksNotAvailableInCacheError,
  JwtExpiredError,
  JwtInvalidClaimError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  JwtWithoutValidKidError,
  KidNotFoundInJwksError,
  ParameterValidationError,
} from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { assertIsJwks, type Jwks, SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { AuthnFailureReason } from './authn-failure';

/** Largest credential header accepted (bytes); Cognito access tokens are 1-3 KB even with many groups. */
export const MAX_CREDENTIAL_HEADER_BYTES = 8192;

/** Default clock skew tolerated on `exp`, `nbf` and `iat` (seconds). */
export const DEFAULT_GRACE_SECONDS = 5;

/** Default longest `exp - iat` accepted: the app clients' access-token validity (1 h, lib/constructs/identity/clients.ts). */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600;

const COGNITO_ISSUER =
  /^https:\/\/cognito-idp\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com\/(\1_[A-Za-z0-9]+)$/;

/** Verifier configuration; `jwks` is the JSON object resolved at deploy time. */
export interface TokenVerifierConfig {
  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>`, or a local issuer URL (cognito-local). */
  readonly issuer: string;
  /** The pool's JWKS (`{ keys: [...] }`), parsed JSON. */
  readonly jwks: unknown;
  /** App clients whose access tokens are accepted. */
  readonly clientIds: readonly string[];
  /** Clock skew tolerated, seconds. @default 5 */
  readonly graceSeconds?: number;
  /**
   * Longest lifetime (`exp - iat`) accepted, seconds: the pool's configured access-token
   * validity. A longer-lived token was not issued by this pool's settings. @default 3600
   */
  readonly maxLifetimeSeconds?: number;
}

/** The claims the service relies on, from a token that passed every check. */
export interface VerifiedAccessToken {
  readonly sub: string;
  readonly clientId: string;
  /** Present on user tokens, absent on client-credentials tokens. */
  readonly username?: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly issuer: string;
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** Issued at, epoch seconds (compared with the directory's `validAfter`). */
  readonly iat: number;
  readonly jti?: string;
  /**
   * The user's e-mail address, for display only (never for authorization): Cognito puts no
   * `email` in access tokens, the pre-token-generation trigger adds it (directory-writers.ts).
   */
  readonly email?: string;
}

/** Longest e-mail address accepted in a token (RFC 5321: 254 octets in a path). */
const MAX_EMAIL_LENGTH = 254;

/** A rejected token; `reason` goes to the audit trail, never to the client. */
export class TokenRejectedError extends Error {
  constructor(
    readonly reason: AuthnFailureReason,
    cause?: unknown,
  ) {
    super(`Access token rejected: ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'TokenRejectedError';
  }
}

/** Verifies one access token synchronously; throws `TokenRejectedError`. */
export interface AccessTokenVerifier {
  verify(token: string): VerifiedAccessToken;
}

/** A fetcher that refuses: the preloaded JWKS is the only key source, a fetch attempt is a rejection. */
export const refusingFetcher: Fetcher = {
  fetch: async (uri) => {
    throw new KidNotFoundInJwksError(`JWKS fetch refused (offline verifier): ${uri}`);
  },
};

function validateJwks(jwks: unknown): Jwks {
  if (typeof jwks !== 'object' || jwks === null)
    throw new Error('Token verifier: jwks must be a JSON object');
  assertIsJwks(jwks as Jwks);
  const checked = jwks as Jwks;
  if (checked.keys.length === 0) throw new Error('Token verifier: jwks has no keys');
  for (const key of checked.keys) {
    if (key.kty !== 'RSA' || typeof key.kid !== 'string' || (key.use !== undefined && key.use !== 'sig')) {
      throw new Error('Token verifier: every JWK must be an RSA signing key with a kid');
    }
  }
  return checked;
}

const stringArray = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;

function mapVerificationError(error: unknown): AuthnFailureReason {
  if (error instanceof TokenRejectedError) return error.reason;
  if (error instanceof JwtExpiredError) return 'expired';
  if (error instanceof JwtNotBeforeError) return 'not_yet_valid';
  if (error instanceof JwtInvalidIssuerError) return 'wrong_issuer';
  if (error instanceof CognitoJwtInvalidTokenUseError) return 'wrong_token_use';
  if (error instanceof CognitoJwtInvalidClientIdError) return 'wrong_client';
  if (error instanceof JwtInvalidSignatureAlgorithmError) return 'unsupported_algorithm';
  if (error instanceof JwtInvalidSignatureError) return 'invalid_signature';
  if (
    error instanceof KidNotFoundInJwksError ||
    error instanceof JwtWithoutValidKidError ||
    error instanceof JwksNotAvailableInCacheError
  ) {
    return 'unknown_key';
  }
  if (error instanceof JwtParseError) return 'malformed_token';
  if (error instanceof JwtInvalidClaimError) return 'invalid_claims';
  // Anything else (e.g. a key that cannot be imported, a signature of the wrong length) is still a rejection.
  return 'malformed_token';
}

// Only ever used to name a rejection, never to accept anything.
function unverifiedIssuer(token: string): string {
  try {
    const { iss } = decomposeUnverifiedJwt(token).payload;
    return typeof iss === 'string' ? iss : '';
  } catch {
    return '';
  }
}

/** Creates the offline verifier for one pool (or local issuer) and its allowed app clients. */
export function createAccessTokenVerifier(config: TokenVerifierConfig): AccessTokenVerifier {
  const jwks = validateJwks(config.jwks);
  const clientIds = [...config.clientIds];
  if (clientIds.length === 0 || clientIds.some((id) => !/^[A-Za-z0-9_-]{1,128}$/.test(id))) {
    throw new Error('Token verifier: clientIds must be a non-empty list of app client ids');
  }
  const graceSeconds = config.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const maxLifetimeSeconds = config.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds < 300 || maxLifetimeSeconds > 86_400) {
    throw new Error('Token verifier: maxLifetimeSeconds must be an integer from 300 to 86400');
  }
  const jwksCache = new SimpleJwksCache({ fetcher: refusingFetcher });

  // Checks aws-jwt-verify leaves optional: Cognito always sets these, so a token without them is not ours.
  const strictClaims = ({ header, payload }: { header: JwtHeader; payload: JwtPayload }): void => {
    if (header.alg !== 'RS256') throw new TokenRejectedError('unsupported_algorithm');
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') {
      throw new TokenRejectedError('invalid_claims');
    }
    if (payload.iat - graceSeconds > Date.now() / 1000) throw new TokenRejectedError('not_yet_valid');
    // A token living longer than the pool issues them (a stolen signing key, a forged test
    // token) is refused even while unexpired.
    if (payload.exp - payload.iat > maxLifetimeSeconds + graceSeconds) {
      throw new TokenRejectedError('excessive_lifetime');
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw new TokenRejectedError('invalid_claims');
  };

  const cognitoIssuer = COGNITO_ISSUER.exec(config.issuer);
  let acceptedIssuers: ReadonlySet<string>;
  let verifySync: (token: string) => JwtPayload;
  if (cognitoIssuer) {
    const [, region, userPoolId] = cognitoIssuer as unknown as [string, string, string];
    const verifier = CognitoJwtVerifier.create(
      { userPoolId, tokenUse: 'access', clientId: clientIds, graceSeconds, customJwtCheck: strictClaims },
      { jwksCache },
    );
    verifier.cacheJwks(jwks);
    // aws-jwt-verify accepts both issuer spellings Cognito uses for one pool.
    acceptedIssuers = new Set([
      config.issuer,
      `https://issuer-cognito-idp.${region}.amazonaws.com/${userPoolId}`,
    ]);
    verifySync = (token) => verifier.verifySync(token);
  } else {
    const issuerUrl = new URL(config.issuer);
    if (
      issuerUrl.protocol !== 'https:' &&
      !['127.0.0.1', 'localhost', '[::1]'].includes(issuerUrl.hostname)
    ) {
      throw new Error('Token verifier: a non-Cognito issuer must be https or loopback (local mode)');
    }
    // Local issuers (cognito-local) get the same Cognito claim rules through validateCognitoJwtFields.
    const verifier = JwtVerifier.create(
      {
        issuer: config.issuer,
        audience: null,
        graceSeconds,
        customJwtCheck: (props) => {
          validateCognitoJwtFields(props.payload, { tokenUse: 'access', clientId: clientIds });
          strictClaims(props);
        },
      },
      { jwksCache },
    );
    verifier.cacheJwks(jwks);
    acceptedIssuers = new Set([config.issuer]);
    verifySync = (token) => verifier.verifySync(token);
  }

  return {
    verify(token: string): VerifiedAccessToken {
      if (token.length > MAX_CREDENTIAL_HEADER_BYTES) throw new TokenRejectedError('oversized_credentials');
      let payload: JwtPayload;
      try {
        payload = verifySync(token);
      } catch (error) {
        // A multi-issuer verifier refuses an unconfigured `iss` with a parameter error; name it.
        const reason =
          error instanceof ParameterValidationError && !acceptedIssuers.has(unverifiedIssuer(token))
            ? 'wrong_issuer'
            : mapVerificationError(error);
        throw new TokenRejectedError(reason, error);
      }
      // aws-jwt-verify already matched the issuer; this keeps the accepted set explicit and auditable.
      if (typeof payload.iss !== 'string' || !acceptedIssuers.has(payload.iss)) {
        throw new TokenRejectedError('wrong_issuer');
      }
      const clientId = payload.client_id;
      const username = payload.username;
      const groups = payload['cognito:groups'] === undefined ? [] : stringArray(payload['cognito:groups']);
      const scope = payload.scope ?? '';
      if (typeof clientId !== 'string' || groups === undefined || typeof scope !== 'string') {
        throw new TokenRejectedError('invalid_claims');
      }
      if (username !== undefined && typeof username !== 'string')
        throw new TokenRejectedError('invalid_claims');
      const email = payload.email;
      if (
        email !== undefined &&
        (typeof email !== 'string' || !email.includes('@') || email.length > MAX_EMAIL_LENGTH)
      )
        throw new TokenRejectedError('invalid_claims');
      // A client-credentials token has no user: its subject is the client itself.
      if (username === undefined && (payload.sub !== clientId || groups.length > 0)) {
        throw new TokenRejectedError('invalid_claims');
      }
      return {
        sub: payload.sub as string,
        clientId,
        ...(username === undefined ? {} : { username }),
        groups,
        scopes: scope === '' ? [] : scope.split(' '),
        issuer: payload.iss,
        exp: payload.exp as number,
        iat: payload.iat as number,
        ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
        ...(email === undefined || username === undefined ? {} : { email }),
      };
    },
  };
}

/** The credential found on a request, before verification. */
export type PresentedCredential =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'rejected';
      readonly reason: AuthnFailureReason;
      readonly source: 'authorization' | 'alb' | 'api-key';
    }
  | { readonly kind: 'bearer'; readonly token: string; readonly source: 'authorization' | 'alb' }
  | { readonly kind: 'apiKey'; readonly key: string };

/** Case-insensitive header lookup: ALB lower-cases names, tests and other front ends may not. */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/**
 * Finds the caller's credential: `Authorization: Bearer`, the ALB's `x-amzn-oidc-accesstoken`
 * or `x-api-key`. Oversized headers are refused before any parsing; two different credentials
 * on one request are refused rather than guessing which one counts.
 */
export function extractCredential(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): PresentedCredential {
  const authorization = headerValue(headers, 'authorization');
  const alb = headerValue(headers, 'x-amzn-oidc-accesstoken');
  const apiKey = headerValue(headers, 'x-api-key');
  const found: PresentedCredential[] = [];
  if (authorization !== undefined) {
    if (Buffer.byteLength(authorization) > MAX_CREDENTIAL_HEADER_BYTES) {
      return { kind: 'rejected', reason: 'oversized_credentials', source: 'authorization' };
    }
    const match = BEARER.exec(authorization);
    if (!match) return { kind: 'rejected', reason: 'malformed_header', source: 'authorization' };
    found.push({ kind: 'bearer', token: match[1]!, source: 'authorization' });
  }
  if (alb !== undefined) {
    if (Buffer.byteLength(alb) > MAX_CREDENTIAL_HEADER_BYTES) {
      return { kind: 'rejected', reason: 'oversized_credentials', source: 'alb' };
    }
    // The same token in both headers (ALB authenticate-jwt forwards it) is one credential, not two.
    if (!found.some((credential) => credential.kind === 'bearer' && credential.token === alb)) {
      found.push({ kind: 'bearer', token: alb, source: 'alb' });
    }
  }
  if (apiKey !== undefined) {
    if (Buffer.byteLength(apiKey) > MAX_CREDENTIAL_HEADER_BYTES) {
      return { kind: 'rejected', reason: 'oversized_credentials', source: 'api-key' };
    }
    found.push({ kind: 'apiKey', key: apiKey });
  }
  if (found.length === 0) return { kind: 'none' };
  if (found.length > 1) {
    return { kind: 'rejected', reason: 'ambiguous_credentials', source: 'authorization' };
  }
  return found[0]!;
}
