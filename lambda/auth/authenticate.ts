/**
 * Authentication step of the claim check: finds the one credential on an ALB request and turns
 * it into a principal (access token or personal API key), or into a failure reason.
 */
import type { ALBEvent } from 'aws-lambda';
import { ServiceUnavailableError } from '../shared/errors';
import { type ApiKeyAuthDeps, authenticateApiKey } from './api-keys';
import type { CachedOwnerDirectory } from './owner-directory';
import { permissionsForGroups } from './permissions';
import {
  type AuthnFailureReason,
  type CredentialSource,
  type Principal,
  principalFromToken,
} from './principal';
import {
  type AccessTokenVerifier,
  extractCredential,
  TokenRejectedError,
  type VerifiedAccessToken,
} from './token-verifier';

/** Outcome of authentication. */
export type Authentication =
  | { principal: Principal }
  | { reason: AuthnFailureReason; source: CredentialSource };

// ALB sends either `headers` or, with multi-value headers on, `multiValueHeaders`. Repeated
// values are joined, which no credential format accepts, so a duplicated header fails closed.
export function flatHeaders(event: ALBEvent): Record<string, string | undefined> {
  if (event.headers) return event.headers;
  const flat: Record<string, string | undefined> = {};
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) flat[name] = values?.join(',');
  return flat;
}

/**
 * A user token judged on the directory, not on its own claims: the subject must be known and
 * active, the token issued after the user's `validAfter`, and the groups are the user's
 * current ones (a demoted user's old token carries only what the user still holds).
 */
async function judgeUserToken(
  token: VerifiedAccessToken,
  owners: CachedOwnerDirectory,
): Promise<Authentication> {
  const principal = principalFromToken(token);
  if (principal.kind !== 'user') return { principal };
  // A token issued after our cached read was issued by a sign-in that has just written the
  // directory (pre-token trigger): read again rather than judge it on an older answer.
  const owner = await owners.lookup(token.sub, { freshAfterMs: token.iat * 1000 }).catch((error: unknown) => {
    throw new ServiceUnavailableError(undefined, undefined, error);
  });
  if (owner === null) return { reason: 'unknown_subject', source: 'authorization' };
  if (owner.status !== 'active') return { reason: 'user_inactive', source: 'authorization' };
  if (token.iat < owner.validAfter) return { reason: 'token_revoked', source: 'authorization' };
  return {
    principal: { ...principal, groups: [...owner.groups], permissions: permissionsForGroups(owner.groups) },
  };
}

/** Finds and checks the request's credential: a principal, or why there is none. */
export async function authenticate(
  headers: Record<string, string | undefined>,
  options: {
    verifier: AccessTokenVerifier;
    apiKeys?: ApiKeyAuthDeps | undefined;
    /** When set (AWS and local wiring), user tokens are judged on the directory. */
    owners?: CachedOwnerDirectory | undefined;
  },
): Promise<Authentication> {
  const credential = extractCredential(headers);
  switch (credential.kind) {
    case 'none':
      return { reason: 'missing_credentials', source: 'none' };
    case 'rejected':
      return credential;
    case 'bearer': {
      let token: VerifiedAccessToken;
      try {
        token = options.verifier.verify(credential.token);
      } catch (error) {
        if (error instanceof TokenRejectedError) return { reason: error.reason, source: credential.source };
        throw error;
      }
      if (!options.owners) return { principal: principalFromToken(token) };
      {
        const judged = await judgeUserToken(token, options.owners);
        return 'reason' in judged ? { ...judged, source: credential.source } : judged;
      }
    }
    case 'apiKey': {
      if (!options.apiKeys) return { reason: 'unknown_api_key', source: 'api-key' };
      const result = await authenticateApiKey(credential.key, options.apiKeys).catch((error: unknown) => {
        throw new ServiceUnavailableError(undefined, undefined, error);
      });
      return result.ok ? { principal: result.principal } : { reason: result.reason, source: 'api-key' };
    }
  }
}
