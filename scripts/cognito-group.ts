/**
 * Adds a user to, or removes a user from, one of the service's groups (lambda/auth/permissions.ts).
 *
 *   tsx scripts/cognito-group.ts add --user alice@example.com --group operator --user-pool-id ID --region REGION
 */
import {
  AdminAddUserToGroupCommand,
  AdminRemoveUserFromGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GROUPS, isGroup } from '../lambda/auth/permissions';
import {
  type CliDeps,
  defaultDeps,
  EXIT_OK,
  isEntryPoint,
  parseCli,
  requireString,
  runScript,
  UsageError,
  validateUser,
} from './cognito-cli';

const USAGE = `usage: cognito-group add|remove --user USER --group GROUP --user-pool-id ID --region REGION [--endpoint URL]

Adds a user to a group or removes them from it. Permissions follow at the user's next token
(at most the access-token lifetime); personal API keys follow within the directory cache time.

  add|remove          what to do
  --user USER         user name or email
  --group GROUP       one of: ${GROUPS.join(', ')}
  --user-pool-id ID   the user pool, e.g. eu-west-1_AbCdEf123
  --region REGION     its region, e.g. eu-west-1
  --endpoint URL      a Cognito-compatible endpoint (cognito-local on http://127.0.0.1:PORT)
  -h, --help          this text`;

/** Script entry: returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = defaultDeps): Promise<number> {
  return runScript(USAGE, deps, async () => {
    const parsed = parseCli(argv, { user: { type: 'string' }, group: { type: 'string' } }, USAGE, deps, true);
    if (!parsed) return EXIT_OK;
    const [action, ...rest] = parsed.positionals;
    if ((action !== 'add' && action !== 'remove') || rest.length > 0) {
      throw new UsageError('expected exactly one action: add or remove');
    }
    const user = validateUser(requireString(parsed.values, 'user'));
    const group = requireString(parsed.values, 'group');
    if (!isGroup(group))
      throw new UsageError(`--group: unknown group ${JSON.stringify(group)}; one of ${GROUPS.join(', ')}`);

    const client = deps.createClient(parsed.common);
    const input = { UserPoolId: parsed.common.userPoolId, Username: user, GroupName: group };
    await client.send(
      action === 'add' ? new AdminAddUserToGroupCommand(input) : new AdminRemoveUserFromGroupCommand(input),
    );
    deps.stdout(
      action === 'add' ? `Added ${user} to group ${group}.` : `Removed ${user} from group ${group}.`,
    );
    return EXIT_OK;
  });
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
