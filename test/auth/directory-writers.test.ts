/**
 * The AWS-side directory writers on dynalite: the pre-token-generation trigger and the
 * directory sync of Cognito admin events as EventBridge delivers them from CloudTrail
 * (user names hidden, sub in additionalEventData, e-mail aliases, other pools, failed calls).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  applyCognitoAdminEvent,
  type CloudTrailApiCallEvent,
  recordTokenGeneration,
  UnresolvedUserError,
} from '../../lambda/auth/directory-writers';
import { DynamoDbOwnerDirectory } from '../../lambda/auth/owner-directory-dynamodb';
import { apiKeysTable } from '../../lib/data/table-schemas';
import { type DynaliteHandle, startDynalite } from '../support/dynalite';

const POOL = 'eu-west-1_AbCdEf123';
const SUB = '0b7c3b2e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
let dynamo: DynaliteHandle;
let directory: DynamoDbOwnerDirectory;
let counter = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  const names = await dynamo.createTables([apiKeysTable], `w${++counter}-`);
  directory = new DynamoDbOwnerDirectory(dynamo.client, names[apiKeysTable.id]!);
});

const at = (iso: string) => () => new Date(iso);

function signInEvent(groups: string[] | undefined) {
  return {
    version: '2',
    triggerSource: 'TokenGeneration_RefreshTokens',
    userPoolId: POOL,
    userName: SUB,
    request: {
      userAttributes: { sub: SUB, email: 'Ada@Example.com' },
      groupConfiguration: { groupsToOverride: groups },
    },
    response: {},
  };
}

function adminEvent(
  eventName: string,
  requestParameters: Record<string, unknown>,
  extra: Partial<NonNullable<CloudTrailApiCallEvent['detail']>> = {},
): CloudTrailApiCallEvent {
  return {
    source: 'aws.cognito-idp',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: {
      eventSource: 'cognito-idp.amazonaws.com',
      eventName,
      requestParameters: { userPoolId: POOL, ...requestParameters },
      ...extra,
    },
  };
}

describe('pre-token-generation trigger', () => {
  it('records the groups, keeps the event of a V1 trigger unchanged, and revokes earlier tokens when a group is gone', async () => {
    // Prepare
    const first = signInEvent(['admin', 'user']);

    // Act
    const returned = await recordTokenGeneration(first, directory, at('2026-12-04T10:00:00.400Z'));
    await recordTokenGeneration(signInEvent(['user']), directory, at('2026-12-04T11:00:00.700Z'));

    // Assess
    expect(returned).toBe(first);
    expect(await directory.lookup(SUB)).toEqual({
      groups: ['user'],
      status: 'active',
      // Rounded down: the token issued right after this trigger (same second) stays valid.
      validAfter: Date.parse('2026-12-04T11:00:00Z') / 1000,
    });
    expect(await directory.subOfAlias('ada@example.com')).toBe(SUB);
  });

  it('adds the e-mail address to the access token of a V2 event, and nothing else', async () => {
    // Prepare: what Cognito sends a V2_0 trigger (response details null until the trigger sets them)
    const event = {
      ...signInEvent(['user']),
      version: '2',
      response: { claimsAndScopeOverrideDetails: null },
    };

    // Act
    const returned = await recordTokenGeneration(event, directory);

    // Assess
    expect(returned.response).toEqual({
      claimsAndScopeOverrideDetails: {
        accessTokenGeneration: { claimsToAddOrOverride: { email: 'Ada@Example.com' } },
      },
    });
  });

  it('keeps overrides already in the event, and leaves a V1 event (ID token only) unchanged', async () => {
    const event = {
      ...signInEvent(['user']),
      version: '3',
      response: {
        claimsAndScopeOverrideDetails: {
          accessTokenGeneration: { claimsToAddOrOverride: { tenant: 't1' } as { email?: string } },
        },
      },
    };
    await recordTokenGeneration(event, directory);
    expect(event.response.claimsAndScopeOverrideDetails.accessTokenGeneration.claimsToAddOrOverride).toEqual({
      tenant: 't1',
      email: 'Ada@Example.com',
    });

    const v1 = { ...signInEvent(['user']), version: '1' };
    const before = JSON.stringify(v1);
    await recordTokenGeneration(v1, directory);
    expect(JSON.stringify(v1)).toBe(before);
  });

  it('treats a missing group list as no group, and refuses an event without a sub', async () => {
    await recordTokenGeneration(signInEvent(undefined), directory);
    expect((await directory.lookup(SUB))?.groups).toEqual([]);
    await expect(recordTokenGeneration({ request: { userAttributes: {} } }, directory)).rejects.toThrow(
      /without a sub/,
    );
  });
});

describe('directory sync of Cognito admin events', () => {
  beforeEach(async () => {
    await recordTokenGeneration(signInEvent(['admin', 'user']), directory, at('2026-12-04T09:00:00Z'));
  });

  it.each([
    ['AdminRemoveUserFromGroup', { groupName: 'admin' }, { groups: ['user'], status: 'active' }, true],
    [
      'AdminAddUserToGroup',
      { groupName: 'auditor' },
      { groups: ['admin', 'user', 'auditor'], status: 'active' },
      false,
    ],
    ['AdminDisableUser', {}, { groups: ['admin', 'user'], status: 'disabled' }, true],
    ['AdminDeleteUser', {}, { groups: [], status: 'deleted' }, true],
    ['AdminUserGlobalSignOut', {}, { groups: ['admin', 'user'], status: 'active' }, true],
  ])(
    '%s with a hidden user name, resolved by the sub Cognito adds',
    async (eventName, parameters, expected, revokes) => {
      // Act
      const outcome = await applyCognitoAdminEvent(
        adminEvent(
          eventName,
          { username: 'HIDDEN_FOR_SECURITY_REASONS', ...parameters },
          { additionalEventData: { sub: SUB } },
        ),
        directory,
        POOL,
        at('2026-12-04T12:00:00.200Z'),
      );

      // Assess
      expect(outcome).toEqual({ applied: true, eventName, sub: SUB, revoked: revokes });
      const record = await directory.lookup(SUB);
      expect(record).toMatchObject(expected);
      expect(record!.validAfter).toBe(revokes ? Date.parse('2026-12-04T12:00:01Z') / 1000 : 0);
    },
  );

  it('re-enables with the groups the directory holds now', async () => {
    const byEmail = { username: 'ada@example.com' };
    await applyCognitoAdminEvent(adminEvent('AdminDisableUser', byEmail), directory, POOL);
    await applyCognitoAdminEvent(
      adminEvent('AdminRemoveUserFromGroup', { ...byEmail, groupName: 'admin' }),
      directory,
      POOL,
    );

    const outcome = await applyCognitoAdminEvent(adminEvent('AdminEnableUser', byEmail), directory, POOL);

    expect(outcome).toMatchObject({ applied: true, sub: SUB });
    expect(await directory.lookup(SUB)).toMatchObject({ groups: ['user'], status: 'active' });
  });

  it.each([
    ['another pool', adminEvent('AdminDisableUser', { userPoolId: 'eu-west-1_Other', username: SUB })],
    [
      'a failed call',
      adminEvent('AdminDisableUser', { username: SUB }, { errorCode: 'UserNotFoundException' }),
    ],
    ['an unrelated call', adminEvent('AdminUpdateUserAttributes', { username: SUB })],
    ['another service', { detail: { eventSource: 'iam.amazonaws.com', eventName: 'AdminDisableUser' } }],
  ])('ignores %s and changes nothing', async (_name, event) => {
    const before = await directory.lookup(SUB);

    const outcome = await applyCognitoAdminEvent(event, directory, POOL);

    expect(outcome.applied).toBe(false);
    expect(await directory.lookup(SUB)).toEqual(before);
  });

  it('throws (retry, then dead letters) when the event names no user it can resolve', async () => {
    await expect(
      applyCognitoAdminEvent(
        adminEvent('AdminDisableUser', { username: 'HIDDEN_FOR_SECURITY_REASONS' }),
        directory,
        POOL,
      ),
    ).rejects.toBeInstanceOf(UnresolvedUserError);
    await expect(
      applyCognitoAdminEvent(
        adminEvent('AdminDisableUser', { username: 'nobody@example.com' }),
        directory,
        POOL,
      ),
    ).rejects.toBeInstanceOf(UnresolvedUserError);
    await expect(
      applyCognitoAdminEvent(
        adminEvent('AdminDisableUser', { username: 'unknown-user-name' }),
        directory,
        POOL,
      ),
    ).rejects.toBeInstanceOf(UnresolvedUserError);
    expect((await directory.lookup(SUB))?.status).toBe('active');
  });
});
