/**
 * Disables a user and signs them out everywhere: AdminDisableUser blocks new sign-ins and
 * refreshes (and makes their API keys fail), AdminUserGlobalSignOut revokes their refresh tokens.
 *
 *   tsx scripts/cognito-disable-user.ts --user alice@example.com --user-pool-id ID --region REGION
 */
import {
  AdminDisableUserCommand,
  AdminUserGlobalSignOutCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  type CliDeps,
  defaultDeps,
  EXIT_FAILED,
  EXIT_OK,
  isEntryPoint,
  parseCli,
  requireString,
  runScript,
  validateUser,
} from './cognito-cli';

const USAGE = `usage: cognito-disable-user --user USER --user-pool-id ID --region REGION [--endpoint URL]

Disables the user, then signs them out of every session (refresh tokens revoked). Access
tokens already issued stay valid until they expire (1 h); API keys stop at the next directory look-up.

  --user USER         user name or email
  --user-pool-id ID   the user pool, e.g. eu-west-1_AbCdEf123
  --region REGION     its region, e.g. eu-west-1
  --endpoint URL      a Cognito-compatible endpoint (cognito-local on http://127.0.0.1:PORT)
  -h, --help          this text`;

/** Script entry: returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = defaultDeps): Promise<number> {
  return runScript(USAGE, deps, async () => {
    const parsed = parseCli(argv, { user: { type: 'string' } }, USAGE, deps);
    if (!parsed) return EXIT_OK;
    const user = validateUser(requireString(parsed.values, 'user'));
    const client = deps.createClient(parsed.common);
    const input = { UserPoolId: parsed.common.userPoolId, Username: user };

    // Disable first: if sign-out then fails, the user still cannot get new tokens.
    await client.send(new AdminDisableUserCommand(input));
    deps.stdout(`Disabled ${user}.`);
    try {
      await client.send(new AdminUserGlobalSignOutCommand(input));
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      deps.stderr(
        `error: ${user} is disabled, but the global sign-out failed (${reason}). Run this command again.`,
      );
      return EXIT_FAILED;
    }
    deps.stdout(`Signed ${user} out of every session.`);
    return EXIT_OK;
  });
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
