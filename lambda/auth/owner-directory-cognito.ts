/**
 * Reads a user's current state from Cognito (AdminGetUser + AdminListGroupsForUser), for the
 * writers that can reach Cognito: the operator scripts run this after every change and write
 * the result to the owner directory (lambda/auth/owner-directory.ts). The API functions never
 * call Cognito (a pool with a domain is not reachable through PrivateLink).
 */
import {
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  UserNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';

/** Minimal client surface, so tests can pass a recording client. */
export interface CognitoAdminClient {
  send(command: AdminGetUserCommand | AdminListGroupsForUserCommand): Promise<unknown>;
}

/** A Cognito user as the directory needs it. */
export interface CognitoUserState {
  readonly sub: string;
  /** Cognito's user name (a UUID in pools that sign in by e-mail). */
  readonly username: string;
  readonly email?: string;
  readonly enabled: boolean;
  readonly groups: readonly string[];
}

/** The user's sub, enabled flag and groups now; `null` when the user does not exist. */
export async function readCognitoUser(
  client: CognitoAdminClient,
  userPoolId: string,
  username: string,
): Promise<CognitoUserState | null> {
  const input = { UserPoolId: userPoolId, Username: username };
  try {
    const user = (await client.send(new AdminGetUserCommand(input))) as {
      Username?: string;
      Enabled?: boolean;
      UserAttributes?: { Name?: string; Value?: string }[];
    };
    const attribute = (name: string) => user.UserAttributes?.find((a) => a.Name === name)?.Value;
    const sub = attribute('sub');
    if (sub === undefined) throw new Error(`Cognito returned user ${username} without a sub`);
    const groups: string[] = [];
    let nextToken: string | undefined;
    do {
      // By the canonical user name: cognito-local matches only that (Cognito accepts aliases too).
      const page = (await client.send(
        new AdminListGroupsForUserCommand({
          UserPoolId: userPoolId,
          Username: user.Username ?? username,
          NextToken: nextToken,
          Limit: 60,
        }),
      )) as { Groups?: { GroupName?: string }[]; NextToken?: string };
      for (const group of page.Groups ?? []) if (group.GroupName) groups.push(group.GroupName);
      nextToken = page.NextToken;
    } while (nextToken);
    const email = attribute('email');
    return {
      sub,
      username: user.Username ?? username,
      ...(email === undefined ? {} : { email }),
      enabled: user.Enabled === true,
      groups,
    };
  } catch (error) {
    if (
      error instanceof UserNotFoundException ||
      (error as { name?: string }).name === 'UserNotFoundException'
    ) {
      return null;
    }
    throw error;
  }
}
