/**
 * Local mode's identity provider (DESIGN.md section 2): users with scrypt-hashed passwords
 * in a 0600 file, and Cognito-shaped RS256 access tokens signed with a key kept beside
 * them. The tokens pass through the very verifier the functions use in AWS (issuer on
 * loopback, `token_use=access`, client id, `cognito:groups`), so local mode exercises the
 * real claim checks. Cognito's MFA has no local counterpart here: the banner says so.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  scrypt,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GROUPS, type Group, isGroup } from '../auth/permissions';

/** The local app client (plays the ALB's client). */
export const LOCAL_CLIENT_ID = 'local-web-client';
/** Lifetime of a local access token, as Cognito's default access-token validity. */
export const LOCAL_TOKEN_SECONDS = 3600;
/** The user pool's password policy, applied locally too. */
export const MIN_PASSWORD_LENGTH = 14;

/** A local user as stored (the password only as a scrypt hash). */
interface StoredUser {
  readonly sub: string;
  readonly email: string;
  readonly groups: Group[];
  readonly salt: string;
  readonly hash: string;
  /** scrypt cost the hash was made with; absent = 2^14 (before issue 17), re-hashed at the next sign-in. */
  readonly scryptN?: number;
  readonly createdAt: string;
  /** `false` after `--disable-user`; absent = enabled. */
  readonly enabled?: boolean;
  /** Epoch seconds: tokens and sessions issued before are refused (set by demotion and disable). */
  readonly validAfter?: number;
}

/** A local user without secrets. */
export interface LocalUser {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly Group[];
  readonly enabled: boolean;
  /** Epoch seconds; 0 when nothing was revoked. */
  readonly validAfter: number;
}

/**
 * scrypt at N = 2^17, r = 8, p = 1 (OWASP Password Storage Cheat Sheet's scrypt minimum). It
 * needs 128 * N * r = 128 MiB, above Node's default `maxmem` of 32 MiB, hence `maxmem`.
 */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;
const LEGACY_SCRYPT_N = 16_384;

function scryptAsync(password: string, salt: string, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { ...SCRYPT, N }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const publicUser = (user: StoredUser): LocalUser => ({
  sub: user.sub,
  email: user.email,
  groups: user.groups,
  enabled: user.enabled !== false,
  validAfter: user.validAfter ?? 0,
});

/** Writes a file with mode 0600 atomically (write then rename). */
function writePrivate(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o600 });
  renameSync(temporary, path);
  chmodSync(path, 0o600);
}

/** Checks a password against the pool's policy; returns the first rule it breaks. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `at least ${MIN_PASSWORD_LENGTH} characters`;
  if (!/[a-z]/.test(password)) return 'a lower-case letter';
  if (!/[A-Z]/.test(password)) return 'an upper-case letter';
  if (!/\d/.test(password)) return 'a digit';
  if (!/[^A-Za-z0-9]/.test(password)) return 'a symbol';
  return undefined;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[A-Za-z]{2,}$/;

/** The revocation time of a change made now: rounded up, as the AWS writers do (iat has whole seconds). */
function revocationTime(user: StoredUser, now: Date): number {
  return Math.max(user.validAfter ?? 0, Math.ceil(now.getTime() / 1000));
}

/** The local users file and signing key under a directory (`.local/` by default). */
export class LocalIssuer {
  /** The issuer URL tokens carry; the verifier accepts it because it is loopback. */
  readonly issuer: string;
  readonly kid: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly usersFile: string;
  private readonly pepper: Buffer;

  constructor(options: { dir: string; issuer: string }) {
    this.issuer = options.issuer;
    // Keys the e-mail pseudonyms in the audit trail: a plain hash of an address is reversed by
    // hashing a list of addresses; a keyed one is not, without this file.
    const pepperFile = join(options.dir, 'audit-pepper.key');
    if (!existsSync(pepperFile)) writePrivate(pepperFile, randomBytes(32).toString('base64'));
    this.pepper = Buffer.from(readFileSync(pepperFile, 'utf8').trim(), 'base64');
    const keyFile = join(options.dir, 'issuer-key.pem');
    if (!existsSync(keyFile)) {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writePrivate(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    }
    this.privateKey = createPrivateKey(readFileSync(keyFile));
    this.publicKey = createPublicKey(this.privateKey);
    const jwk = this.publicKey.export({ format: 'jwk' }) as { n: string };
    // A stable kid derived from the key, so a restart keeps issued tokens verifiable.
    this.kid = `local-${jwk.n.slice(0, 16)}`;
    this.usersFile = join(options.dir, 'users.json');
  }

  /** The JWKS the verifier is preloaded with (as the deploy-time resolver does in AWS). */
  get jwks(): { keys: Record<string, string>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
    return { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: this.kid, alg: 'RS256', use: 'sig' }] };
  }

  private readUsers(): StoredUser[] {
    if (!existsSync(this.usersFile)) return [];
    return JSON.parse(readFileSync(this.usersFile, 'utf8')) as StoredUser[];
  }

  /** The audit trail's pseudonym of an e-mail address (keyed SHA-256, 16 hex characters). */
  pseudonymize(email: string): string {
    return createHmac('sha256', this.pepper)
      .update(email.trim().toLowerCase(), 'utf8')
      .digest('hex')
      .slice(0, 16);
  }

  /** Every user, without secrets. */
  users(): LocalUser[] {
    return this.readUsers().map(publicUser);
  }

  /** The users file, for the directory sync's change detection. */
  get usersPath(): string {
    return this.usersFile;
  }

  private update(emailInput: string, change: (user: StoredUser) => StoredUser): LocalUser {
    const email = emailInput.trim().toLowerCase();
    const users = this.readUsers();
    const index = users.findIndex((u) => u.email === email);
    if (index === -1) throw new Error(`No local user ${email}`);
    const updated = change(users[index]!);
    users[index] = updated;
    writePrivate(this.usersFile, JSON.stringify(users, null, 2));
    return publicUser(updated);
  }

  /**
   * Replaces the user's groups (`--set-groups`). Losing a group revokes every token and
   * session issued before now, as a demotion does in AWS.
   */
  setGroups(email: string, groups: readonly string[], now = new Date()): LocalUser {
    const unknown = groups.filter((g) => !isGroup(g));
    if (unknown.length > 0)
      throw new Error(`Unknown group(s) ${unknown.join(', ')}; use ${GROUPS.join(', ')}`);
    return this.update(email, (user) => {
      const next = [...new Set(groups.filter(isGroup))];
      const lost = user.groups.some((g) => !next.includes(g));
      return { ...user, groups: next, ...(lost ? { validAfter: revocationTime(user, now) } : {}) };
    });
  }

  /** Disables (revoking every token and session) or re-enables the user. */
  setEnabled(email: string, enabled: boolean, now = new Date()): LocalUser {
    return this.update(email, (user) => ({
      ...user,
      enabled,
      ...(enabled ? {} : { validAfter: revocationTime(user, now) }),
    }));
  }

  /** Creates a user; the e-mail is case-insensitive like the pool's sign-in alias. */
  createUser(emailInput: string, password: string, groups: readonly string[]): LocalUser {
    const email = emailInput.trim().toLowerCase();
    if (!EMAIL.test(email)) throw new Error(`"${emailInput}" is not an e-mail address`);
    const problem = passwordProblem(password);
    if (problem) throw new Error(`The password needs ${problem}`);
    const unknown = groups.filter((g) => !isGroup(g));
    if (unknown.length > 0)
      throw new Error(`Unknown group(s) ${unknown.join(', ')}; use ${GROUPS.join(', ')}`);
    const users = this.readUsers();
    if (users.some((u) => u.email === email)) throw new Error(`${email} already exists`);
    const salt = randomBytes(16).toString('base64');
    const user: StoredUser = {
      sub: randomUUID(),
      email,
      groups: groups.filter(isGroup),
      salt,
      hash: scryptSync(password, salt, 32, SCRYPT).toString('base64'),
      scryptN: SCRYPT.N,
      createdAt: new Date().toISOString(),
    };
    writePrivate(this.usersFile, JSON.stringify([...users, user], null, 2));
    return publicUser(user);
  }

  /**
   * The user when the password matches and the account is enabled; undefined otherwise (same
   * cost either way). Hashing runs on the thread pool, not the event loop. A hash made with
   * an older, cheaper cost is replaced by one at {@link SCRYPT}'s cost on success.
   */
  async authenticate(emailInput: string, password: string): Promise<LocalUser | undefined> {
    const email = emailInput.trim().toLowerCase();
    const user = this.readUsers().find((u) => u.email === email);
    // Hash even for an unknown user so timing does not reveal who exists.
    const salt = user?.salt ?? 'unknown-user-salt';
    const cost = user?.scryptN ?? (user ? LEGACY_SCRYPT_N : SCRYPT.N);
    const candidate = await scryptAsync(password, salt, cost);
    const expected = user ? Buffer.from(user.hash, 'base64') : randomBytes(32);
    if (!user || !timingSafeEqual(candidate, expected) || user.enabled === false) return undefined;
    if (cost < SCRYPT.N) {
      const newSalt = randomBytes(16).toString('base64');
      const hash = (await scryptAsync(password, newSalt, SCRYPT.N)).toString('base64');
      this.update(email, (current) => ({ ...current, salt: newSalt, hash, scryptN: SCRYPT.N }));
    }
    return publicUser(user);
  }

  /** A Cognito-shaped access token for the user, valid {@link LOCAL_TOKEN_SECONDS}. */
  mintAccessToken(
    user: Pick<LocalUser, 'sub' | 'groups'> & { readonly email?: string },
    nowSeconds = Math.floor(Date.now() / 1000),
  ): string {
    const header = { kid: this.kid, alg: 'RS256' };
    const payload = {
      sub: user.sub,
      'cognito:groups': [...user.groups],
      iss: this.issuer,
      client_id: LOCAL_CLIENT_ID,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      token_use: 'access',
      scope: 'openid email',
      auth_time: nowSeconds,
      exp: nowSeconds + LOCAL_TOKEN_SECONDS,
      iat: nowSeconds,
      jti: randomUUID(),
      username: user.sub,
      // What the pool's pre-token-generation trigger adds (lambda/auth/directory-writers.ts).
      ...(user.email === undefined ? {} : { email: user.email }),
    };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode(header)}.${encode(payload)}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(this.privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}
