/**
 * Creates the first administrator of a user pool: a user with a verified email, a random
 * temporary password (valid one day, changed at first sign-in, where MFA enrolment follows)
 * and membership of the `admin` group.
 *
 *   tsx scripts/cognito-create-admin.ts --user-pool-id eu-west-1_AbC --region eu-west-1 --email ops@example.com
 */
import { randomInt } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { normalizeEmail } from '../lambda/auth/sign-up-policy';
import {
  type CliDeps,
  defaultDeps,
  EXIT_OK,
  isEntryPoint,
  parseCli,
  runScript,
  UsageError,
} from './cognito-cli';

const USAGE = `usage: cognito-create-admin --user-pool-id ID --region REGION --email EMAIL [--suppress-email] [--endpoint URL]

Creates a user with a verified email and a random temporary password, and adds it to the
"admin" group. Cognito emails the temporary password, unless --suppress-email is given: then
it is printed here once (the password is never taken as an argument, so it stays out of shell history).

  --user-pool-id ID   the user pool, e.g. eu-west-1_AbCdEf123
  --region REGION     its region, e.g. eu-west-1
  --email EMAIL       the administrator's email (also the user name)
  --suppress-email    do not send the invitation; print the temporary password instead
  --endpoint URL      a Cognito-compatible endpoint (cognito-local on http://127.0.0.1:PORT)
  -h, --help          this text`;

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '!#$%*+-=?@^_';

/** A 20-character temporary password with every character class (the pool requires 14+). */
export function temporaryPassword(pick: (max: number) => number = randomInt): string {
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map((set) => set[pick(set.length)]!);
  while (chars.length < 20) chars.push(all[pick(all.length)]!);
  // Fisher-Yates, so the guaranteed classes are not always in front.
  for (let index = chars.length - 1; index > 0; index--) {
    const other = pick(index + 1);
    [chars[index], chars[other]] = [chars[other]!, chars[index]!];
  }
  return chars.join('');
}

/** Script entry: returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = defaultDeps): Promise<number> {
  return runScript(USAGE, deps, async () => {
    const parsed = parseCli(
      argv,
      { email: { type: 'string' }, 'suppress-email': { type: 'boolean' } },
      USAGE,
      deps,
    );
    if (!parsed) return EXIT_OK;
    const rawEmail = parsed.values.email;
    if (typeof rawEmail !== 'string') throw new UsageError('--email is required');
    const email = normalizeEmail(rawEmail)?.address;
    if (!email) throw new UsageError(`--email: not a plain email address: ${JSON.stringify(rawEmail)}`);
    const suppress = parsed.values['suppress-email'] === true;

    const client = deps.createClient(parsed.common);
    const password = temporaryPassword();
    const created = (await client.send(
      new AdminCreateUserCommand({
        UserPoolId: parsed.common.userPoolId,
        Username: email,
        UserAttributes: [
          { Name: 'email', Value: email },
          { Name: 'email_verified', Value: 'true' },
        ],
        TemporaryPassword: password,
        ...(suppress
          ? { MessageAction: 'SUPPRESS' as const }
          : { DesiredDeliveryMediums: ['EMAIL' as const] }),
      }),
    )) as { User?: { Username?: string } };
    const username = created.User?.Username ?? email;
    await client.send(
      new AdminAddUserToGroupCommand({
        UserPoolId: parsed.common.userPoolId,
        Username: username,
        GroupName: 'admin',
      }),
    );
    deps.stdout(`Created administrator ${email} (user name ${username}) in group admin.`);
    if (suppress) deps.stdout(`Temporary password (shown once, valid 1 day): ${password}`);
    else
      deps.stdout(
        'Cognito emails the temporary password; it must be changed, and MFA set up, at first sign-in.',
      );
    return EXIT_OK;
  });
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
