import type { PreSignUpTriggerEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decideSignUp, normalizeEmail, parseSignUpPolicy, preSignUp } from '../../lambda/auth/sign-up-policy';

const policy = parseSignUpPolicy(' Example.com, corp.example.org ', 'Guest@Partner.net,contractor@gmail.com');

function signUpEvent(email: string | undefined, triggerSource = 'PreSignUp_SignUp'): PreSignUpTriggerEvent {
  return {
    version: '1',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_TestPool1',
    userName: 'new-user',
    callerContext: { awsSdkVersion: '3', clientId: 'client' },
    triggerSource,
    request: { userAttributes: email === undefined ? {} : { email } },
    response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false },
  } as PreSignUpTriggerEvent;
}

describe('pre-sign-up allow-list', () => {
  it.each([
    ['an address in an allowed domain', 'alice@example.com'],
    ['the domain in another case', 'Alice@EXAMPLE.COM'],
    ['a second allowed domain', 'bob@corp.example.org'],
    ['an allowed user outside the domains', 'guest@partner.net'],
    ['an allowed user in another case', 'GUEST@PARTNER.NET'],
    ['a plus address in an allowed domain', 'alice+chat@example.com'],
  ])('admits %s', (_name, email) => {
    // Act
    const decision = decideSignUp(email, policy);

    // Assess
    expect(decision).toEqual({ allowed: true });
  });

  it.each([
    ['another domain', 'eve@evil.com'],
    ['a subdomain of an allowed domain', 'eve@mail.example.com'],
    ['an allowed domain as a prefix', 'eve@example.com.evil.net'],
    ['an allowed domain as a suffix', 'eve@notexample.com'],
    ['another user at an allowed user domain', 'other@partner.net'],
    ['two @ signs', 'eve@evil.com@example.com'],
    ['a quoted local part with @', '"eve@evil.com"@example.com'],
    ['a fullwidth @', 'eve＠example.com'],
    ['a Cyrillic look-alike in the domain', 'eve@exаmple.com'],
    ['a zero-width space', 'eve@exam\u200bple.com'],
    ['a right-to-left override', 'eve@\u202emoc.elpmaxe'],
    ['an NFKC-folding ligature', 'eve@ﬁrm.example.com'],
    ['a trailing dot domain', 'eve@example.com.'],
    ['leading whitespace', ' alice@example.com'],
    ['a newline', 'alice@example.com\nbcc@evil.com'],
    ['an empty string', ''],
    ['no @', 'example.com'],
    ['an IP literal', 'eve@[127.0.0.1]'],
    ['an over-long address', `${'a'.repeat(64)}@${'b'.repeat(190)}.example.com`],
    ['no email attribute', undefined],
  ])('rejects %s', (_name, email) => {
    // Act
    const decision = decideSignUp(email, policy);

    // Assess
    expect(decision.allowed).toBe(false);
  });

  it('the trigger throws a clear message, which Cognito shows to the person signing up', () => {
    // Act + Assess
    expect(() => preSignUp(signUpEvent('eve@evil.com'), policy)).toThrow(
      /limited to invited addresses and approved domains/,
    );
    expect(() => preSignUp(signUpEvent('eve@evil.com', 'PreSignUp_ExternalProvider'), policy)).toThrow(
      /limited/,
    );
  });

  it('returns the event unchanged when admitted, without auto-confirming', () => {
    // Prepare
    const event = signUpEvent('alice@example.com');

    // Act
    const result = preSignUp(event, policy);

    // Assess
    expect(result).toBe(event);
    expect(result.response.autoConfirmUser).toBe(false);
  });

  it('lets administrators create users outside the lists (operator scripts)', () => {
    expect(preSignUp(signUpEvent('ops@elsewhere.io', 'PreSignUp_AdminCreateUser'), policy).userName).toBe(
      'new-user',
    );
  });

  it('normalizes to lower case', () => {
    expect(normalizeEmail('Alice@Example.COM')).toEqual({
      address: 'alice@example.com',
      domain: 'example.com',
    });
  });
});

describe('allow-list configuration', () => {
  it.each([
    ['both lists empty', '', ''],
    ['both lists missing', undefined, undefined],
    ['only commas', ' , ,', ','],
  ])('refuses %s', (_name, domains, users) => {
    expect(() => parseSignUpPolicy(domains, users)).toThrow(/ALLOWED_DOMAINS and\/or ALLOWED_USERS/);
  });

  it.each([
    ['a domain with @', 'user@example.com', '', /ALLOWED_DOMAINS: not a domain: "user@example.com"/],
    ['a wildcard domain', '*.example.com', '', /ALLOWED_DOMAINS/],
    ['a unicode domain', 'exämple.com', '', /ALLOWED_DOMAINS/],
    ['a user without @', '', 'alice', /ALLOWED_USERS: not an email address: "alice"/],
  ])('refuses %s, naming it', (_name, domains, users, message) => {
    expect(() => parseSignUpPolicy(domains, users)).toThrow(message);
  });
});

describe('pre-sign-up handler module', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('reads the lists once at load and enforces them', async () => {
    // Prepare
    vi.stubEnv('ALLOWED_DOMAINS', 'example.com');
    vi.stubEnv('ALLOWED_USERS', '');
    const { handler } = await import('../../lambda/auth/pre-sign-up');
    const invoke = handler as unknown as (event: PreSignUpTriggerEvent) => Promise<PreSignUpTriggerEvent>;

    // Act + Assess
    await expect(invoke(signUpEvent('alice@example.com'))).resolves.toMatchObject({ userName: 'new-user' });
    await expect(invoke(signUpEvent('eve@evil.com'))).rejects.toThrow(/limited/);
  });

  it('fails to load without any list', async () => {
    // Prepare
    vi.stubEnv('ALLOWED_DOMAINS', '');
    vi.stubEnv('ALLOWED_USERS', '');

    // Act + Assess
    await expect(import('../../lambda/auth/pre-sign-up')).rejects.toThrow(/ALLOWED_DOMAINS/);
  });
});
