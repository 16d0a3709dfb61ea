/**
 * Cognito adapter of `OwnerDirectory`: the owner's groups and enabled state, read live so a
 * downgraded or disabled user's API keys lose their power (wrap with `cachedOwnerDirectory`).
 */
import {
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  CognitoIdentityProviderClient,
  UserNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import type { OwnerDirectory } from './api-keys';

/** Minimal client surface, so tests can pass a recording client. */
export interface CognitoAdminClient {
  send(command: AdminGetUserCommand | AdminListGroupsForUserCommand): Promise<unknown>;
}

/** `OwnerDirectory` backed by Cognito AdminGetUser + AdminListGroupsForUser. */
export class CognitoOwnerDirectory implements OwnerDirectory {
  private client: CognitoAdminClient | undefined;

  /** `clientFactory` runs on first use only: most requests never present an API key. */
  constructor(
    private readonly userPoolId: string,
    private readonly clientFactory: () => CognitoAdminClient = () => new CognitoIdentityProviderClient({}),
  ) {}

  async currentGroups(owner: { sub: string; username: string }): Promise<readonly string[] | null> {
    this.client ??= this.clientFactory();
    const input = { UserPoolId: this.userPoolId, Username: owner.username };
    try {
      const user = (await this.client.send(new AdminGetUserCommand(input))) as {
        Enabled?: boolean;
        UserAttributes?: { Name?: string; Value?: string }[];
      };
      const sub = user.UserAttributes?.find((attribute) => attribute.Name === 'sub')?.Value;
      // A recreated user with the same username is a different person: the key stays with the old sub.
      if (user.Enabled !== true || sub !== owner.sub) return null;
      const groups: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = (await this.client.send(
          new AdminListGroupsForUserCommand({ ...input, NextToken: nextToken, Limit: 60 }),
        )) as { Groups?: { GroupName?: string }[]; NextToken?: string };
        for (const group of page.Groups ?? []) if (group.GroupName) groups.push(group.GroupName);
        nextToken = page.NextToken;
      } while (nextToken);
      return groups;
    } catch (error) {
      if (error instanceof UserNotFoundException) return null;
      throw error;
    }
  }
}
