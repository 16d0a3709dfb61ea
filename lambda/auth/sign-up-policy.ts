/**
 * Sign-up allow-list (pure core of the pre-sign-up trigger): only the configured domains and
 * addresses may register. Compared in lower case on plain ASCII addresses only, so look-alike
 * characters, a second `@` or a suffix trick (`example.com.evil.net`) cannot slip through.
 */
import type { PreSignUpTriggerEvent } from 'aws-lambda';

/** Who may sign up. */
export interface SignUpPolicy {
  /** Lower-case domains; an address matches only its exact domain (no subdomains). */
  readonly allowedDomains: ReadonlySet<string>;
  /** Lower-case full addresses. */
  readonly allowedUsers: ReadonlySet<string>;
}

/** Outcome of the check; `message` is what the person signing up sees. */
export type SignUpDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly message: string };

const MAX_EMAIL_LENGTH = 254;
// Printable ASCII local part without quotes or spaces; the domain is LDH labels with a letter TLD.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** Splits and normalizes an address; `undefined` for anything that is not one plain ASCII address. */
export function normalizeEmail(raw: string): { address: string; domain: string } | undefined {
  if (raw.length === 0 || raw.length > MAX_EMAIL_LENGTH) return undefined;
  const parts = raw.split('@');
  if (parts.length !== 2) return undefined;
  const [local, domain] = parts as [string, string];
  if (local.length > 64 || !LOCAL_PART.test(local) || !DOMAIN.test(domain)) return undefined;
  const address = `${local}@${domain}`.toLowerCase();
  return { address, domain: domain.toLowerCase() };
}

/** Parses a comma-separated allow-list of domains and addresses; throws naming the bad entry. */
export function parseSignUpPolicy(
  allowedDomains: string | undefined,
  allowedUsers: string | undefined,
): SignUpPolicy {
  const split = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
  const domains = split(allowedDomains).map((domain) => {
    if (!DOMAIN.test(domain)) throw new Error(`ALLOWED_DOMAINS: not a domain: ${JSON.stringify(domain)}`);
    return domain.toLowerCase();
  });
  const users = split(allowedUsers).map((user) => {
    const normalized = normalizeEmail(user);
    if (!normalized) throw new Error(`ALLOWED_USERS: not an email address: ${JSON.stringify(user)}`);
    return normalized.address;
  });
  if (domains.length === 0 && users.length === 0) {
    throw new Error('Pre-sign-up trigger: set ALLOWED_DOMAINS and/or ALLOWED_USERS (comma-separated)');
  }
  return { allowedDomains: new Set(domains), allowedUsers: new Set(users) };
}

const REJECTED =
  'Sign-up is limited to invited addresses and approved domains. Ask an administrator for access.';

/** Decides whether an address may sign up. */
export function decideSignUp(email: string | undefined, policy: SignUpPolicy): SignUpDecision {
  const normalized = email === undefined ? undefined : normalizeEmail(email);
  if (!normalized) return { allowed: false, message: 'Sign-up requires a plain email address.' };
  if (policy.allowedUsers.has(normalized.address) || policy.allowedDomains.has(normalized.domain)) {
    return { allowed: true };
  }
  return { allowed: false, message: REJECTED };
}

/** The trigger core: returns the event to admit, throws (Cognito shows the message) to reject. */
export function preSignUp(event: PreSignUpTriggerEvent, policy: SignUpPolicy): PreSignUpTriggerEvent {
  // Users created by an administrator (operator scripts) were vetted by a person already.
  if (event.triggerSource === 'PreSignUp_AdminCreateUser') return event;
  const decision = decideSignUp(event.request.userAttributes.email, policy);
  if (!decision.allowed) throw new Error(decision.message);
  return event;
}
