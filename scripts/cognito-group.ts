/**
 * Adds a user to, or removes a user from, one of the service's groups (lambda/auth/permissions.ts),
 * then writes the user's groups as Cognito now holds them to the owner directory that every
 * credential is judged on (lambda/auth/owner-directory.ts). A removal also revokes every token
 * and session issued before it.
 *
 *   tsx scripts/cognito-group.ts add --user alice@example.com --group operator \
 *     --user-pool-id ID --region REGION --api-keys-table TABLE
 */
import {
  AdminAddUserToGroupCommand,
  AdminRemoveUserFromGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { syncOwner } from '../lambda/auth/owner-directory';
import { type CognitoAdminClient, readCognitoUser } from '../lambda/auth/owner-directory-cognito';
import { GROUPS, isGroup } from '../lambda/auth/permissions';
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
  UsageError,
  validateUser,
} from './cognito-cli';

const USAGE = `usage: cognito-group add|remove --user USER --group GROUP --user-pool-id ID --region REGION --api-keys-table T [--endpoint URL] [--dynamodb-endpoint URL]

Adds a user to a group or removes them from it, then records the user's current groups in the
owner directory. Every credential of the user (session, bearer token, API key) follows within
the directory cache time (OWNER_CACHE_SECONDS, at most 60 s). A removal also revokes every
token and session issued before it (they answer 401; the user signs in again).

  add|remove          what to do
  --user USER         user name or email
  --group GROUP       one of: ${GROUPS.join(', ')}
  --user-pool-id ID   the user pool, e.g. eu-west-1_AbCdEf123
  --region REGION     its region, e.g. eu-west-1
${DIRECTORY_USAGE}
  --endpoint URL      a Cognito-compatible endpoint (cognito-local on http://127.0.0.1:PORT)
  -h, --help          this text`;

/** Script entry: returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = defaultDeps): Promise<number> {
  return runScript(USAGE, deps, async () => {
    const parsed = parseCli(
      argv,
      { user: { type: 'string' }, group: { type: 'string' }, ...DIRECTORY_OPTIONS },
      USAGE,
      deps,
      true,
    );
    if (!parsed) return EXIT_OK;
    const [action, ...rest] = parsed.positionals;
    if ((action !== 'add' && action !== 'remove') || rest.length > 0) {
      throw new UsageError('expected exactly one action: add or remove');
    }
    const user = validateUser(requireString(parsed.values, 'user'));
    const group = requireString(parsed.values, 'group');
    if (!isGroup(group))
      throw new UsageError(`--group: unknown group ${JSON.stringify(group)}; one of ${GROUPS.join(', ')}`);
    const directory = directoryOf(parsed.values, parsed.common, deps);

    const client = deps.createClient(parsed.common);
    const input = { UserPoolId: parsed.common.userPoolId, Username: user, GroupName: group };
    await client.send(
      action === 'add' ? new AdminAddUserToGroupCommand(input) : new AdminRemoveUserFromGroupCommand(input),
    );
    deps.stdout(
      action === 'add' ? `Added ${user} to group ${group}.` : `Removed ${user} from group ${group}.`,
    );
    const state = await readCognitoUser(client as CognitoAdminClient, parsed.common.userPoolId, user);
    if (state === null) {
      deps.stderr(`error: ${user} is no longer in the pool; the directory was not updated.`);
      return EXIT_FAILED;
    }
    try {
      const { revoked } = await syncOwner(directory, state.sub, {
        groups: state.groups,
        status: state.enabled ? 'active' : 'disabled',
      });
      deps.stdout(
        `Directory: ${user} now holds ${[...state.groups].sort().join(', ') || 'no group'}` +
          (revoked ? '; tokens and sessions issued before now are revoked.' : '.'),
      );
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      deps.stderr(
        `error: the group change is made in Cognito, but the owner directory was not updated (${reason}). Run this command again.`,
      );
      return EXIT_FAILED;
    }
    return EXIT_OK;
  });
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
