/**
 * Disables a user, records it in the owner directory and signs them out everywhere:
 * AdminDisableUser blocks new sign-ins and refreshes; the directory (status `disabled`,
 * `validAfter` now) makes every session, bearer token and API key of the user answer 401
 * within the directory cache time; AdminUserGlobalSignOut revokes their refresh tokens.
 *
 *   tsx scripts/cognito-disable-user.ts --user alice@example.com --user-pool-id ID --region REGION --api-keys-table TABLE
 */
import {
  AdminDisableUserCommand,
  AdminUserGlobalSignOutCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { syncOwner } from '../lambda/auth/owner-directory';
import { type CognitoAdminClient, readCognitoUser } from '../lambda/auth/owner-directory-cognito';
import {
  type CliDeps,
  DIRECTORY_OPTIONS,
  DIRECTORY_USAGE,
  defaultDeps,
  directoryOf,
  EXIT_FAILED,
  EXIT_OK,
  isEntryPoint,
  parseCli,
  requireString,
  runScript,
  validateUser,
} from './cognito-cli';

const USAGE = `usage: cognito-disable-user --user USER --user-pool-id ID --region REGION --api-keys-table T [--endpoint URL] [--dynamodb-endpoint URL]

Disables the user, records it in the owner directory, then signs them out of every session
(refresh tokens revoked). Every access token, session and API key of the user answers 401
within the directory cache time (OWNER_CACHE_SECONDS, at most 60 s), before the tokens expire.

  --user USER         user name or email
  --user-pool-id ID   the user pool, e.g. eu-west-1_AbCdEf123
  --region REGION     its region, e.g. eu-west-1
${DIRECTORY_USAGE}
  --endpoint URL      a Cognito-compatible endpoint (cognito-local on http://127.0.0.1:PORT)
  -h, --help          this text`;

/** Script entry: returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = defaultDeps): Promise<number> {
  return runScript(USAGE, deps, async () => {
    const parsed = parseCli(argv, { user: { type: 'string' }, ...DIRECTORY_OPTIONS }, USAGE, deps);
    if (!parsed) return EXIT_OK;
    const user = validateUser(requireString(parsed.values, 'user'));
    const directory = directoryOf(parsed.values, parsed.common, deps);
    const client = deps.createClient(parsed.common);
    const input = { UserPoolId: parsed.common.userPoolId, Username: user };

    // Disable first: if a later step fails, the user still cannot get new tokens.
    await client.send(new AdminDisableUserCommand(input));
    deps.stdout(`Disabled ${user}.`);
    const state = await readCognitoUser(client as CognitoAdminClient, parsed.common.userPoolId, user);
    if (state === null) {
      deps.stderr(`error: ${user} is no longer in the pool; the directory was not updated.`);
      return EXIT_FAILED;
    }
    try {
      await syncOwner(directory, state.sub, { groups: state.groups, status: 'disabled', revokeTokens: true });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      deps.stderr(
        `error: ${user} is disabled, but the owner directory was not updated (${reason}); their tokens and keys work until it is. Run this command again.`,
      );
      return EXIT_FAILED;
    }
    deps.stdout(`Directory: ${user} is disabled; every token, session and API key is refused.`);
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
