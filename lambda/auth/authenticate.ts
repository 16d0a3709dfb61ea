/**
 * Authentication step of the claim check: finds the one credential on an ALB request and turns
 * it into a principal (access token or personal API key), or into a failure reason.
 */
import type { ALBEvent } from 'aws-lambda';
import { ServiceUnavailableError } from '../shared/errors';
import { type ApiKeyAuthDeps, authenticateApiKey } from './api-keys';
import {
  type AuthnFailureReason,
  type CredentialSource,
  type Principal,
  principalFromToken,
} from './principal';
import { type AccessTokenVerifier, extractCredential, TokenRejectedError } from './token-verifier';

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

/** Finds and checks the request's credential: a principal, or why there is none. */
export async function authenticate(
  headers: Record<string, string | undefined>,
  options: { verifier: AccessTokenVerifier; apiKeys?: ApiKeyAuthDeps | undefined },
): Promise<Authentication> {
  const credential = extractCredential(headers);
  switch (credential.kind) {
    case 'none':
      return { reason: 'missing_credentials', source: 'none' };
    case 'rejected':
      return credential;
    case 'bearer':
      try {
        return { principal: principalFromToken(options.verifier.verify(credential.token)) };
      } catch (error) {
        if (error instanceof TokenRejectedError) return { reason: error.reason, source: credential.source };
        throw error;
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
