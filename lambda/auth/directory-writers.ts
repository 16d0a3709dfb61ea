/**
 * The AWS-side writers that keep the owner directory (owner-directory.ts) true:
 *
 * - {@link recordTokenGeneration}: the Cognito pre-token-generation trigger. Cognito calls it
 *   before it issues tokens at every sign-in and every refresh, with the user's current groups
 *   (`groupConfiguration.groupsToOverride`), so the directory holds what the user has at the
 *   moment a token is issued; a group lost since the last token revokes the earlier ones.
 *   If the write fails the trigger throws and Cognito issues no token (fail closed).
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
 * - {@link applyCognitoAdminEvent}: the directory-sync function, fed by an EventBridge rule on
 *   Cognito's CloudTrail management events ("AWS API Call via CloudTrail", source
 *   aws.cognito-idp), so a change made in the console or the CLI reaches the directory
 *   without anyone signing in.
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html (a trail must be logging)
 *   Cognito hides some private fields in its CloudTrail events (HIDDEN_FOR_SECURITY_REASONS):
 *   https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-info-in-cloudtrail.html
 *   so the user is resolved from `additionalEventData.sub` when present, else from the user
 *   name (the sub itself in a pool that signs in by e-mail) or its e-mail alias (looked up by
 *   hash in the directory). An event that names no resolvable user is an error: it is retried
 *   and lands in the dead-letter queue, whose alarm tells an operator to run the scripts.
 */
import { OWNER_STATUSES, type OwnerRecord, type OwnerStatus, syncOwner } from './owner-directory';
import type { DynamoDbOwnerDirectory } from './owner-directory-dynamodb';

/**
 * The access-token claims the trigger adds. Cognito writes no `email` into access tokens, and
 * the ALB forwards only the access token to the functions, so the page learns who is signed
 * in from this claim (`GET /api/v1/me`). Display only: authorization never reads it.
 */
export interface AccessTokenClaims {
  readonly email?: string;
}

/** The part of a pre-token-generation event (V1, V2 or V3) the trigger reads and answers. */
export interface TokenGenerationEvent {
  /** `'1'`, `'2'` or `'3'`: only V2 and V3 events can change the access token. */
  readonly version?: string;
  readonly triggerSource?: string;
  readonly userPoolId?: string;
  readonly userName?: string;
  readonly request?: {
    readonly userAttributes?: Record<string, string | undefined>;
    readonly groupConfiguration?: { readonly groupsToOverride?: readonly string[] | null };
  };
  response?: {
    claimsAndScopeOverrideDetails?: {
      accessTokenGeneration?: { claimsToAddOrOverride?: AccessTokenClaims };
    } | null;
  } | null;
}

/**
 * Records the user's groups at sign-in or refresh, and adds the user's e-mail address to the
 * access token (V2/V3 events; the pool's trigger is V2_0). Groups, scopes and every other
 * claim are left as Cognito made them. `email` is not among the claims the trigger may not
 * change (acr, amr, aud, auth_time, azp, exp, iat, identities, iss, jti, nbf, nonce,
 * origin_jti, sub, token_use, ...):
 * https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
 */
export async function recordTokenGeneration<E extends TokenGenerationEvent>(
  event: E,
  directory: Pick<DynamoDbOwnerDirectory, 'lookup' | 'record' | 'recordAlias'>,
  now: () => Date = () => new Date(),
): Promise<E> {
  const sub = event.request?.userAttributes?.sub;
  if (typeof sub !== 'string' || sub.length === 0)
    throw new Error('Pre-token generation: event without a sub');
  const groups = [...(event.request?.groupConfiguration?.groupsToOverride ?? [])].filter(
    (group): group is string => typeof group === 'string',
  );
  // Cognito issues tokens only to enabled users, so this sign-in proves the account active.
  await syncOwner(directory, sub, { groups, status: 'active', issuingToken: true }, now());
  const email = event.request?.userAttributes?.email;
  if (typeof email === 'string' && email.includes('@')) {
    await directory.recordAlias(email, sub);
    if (event.version === '2' || event.version === '3') addAccessTokenClaims(event, { email });
  }
  return event;
}

/** Merges claims into the event's access-token overrides, keeping any already there. */
function addAccessTokenClaims(event: TokenGenerationEvent, claims: AccessTokenClaims): void {
  const response = event.response ?? {};
  const details = response.claimsAndScopeOverrideDetails ?? {};
  const access = details.accessTokenGeneration ?? {};
  access.claimsToAddOrOverride = { ...access.claimsToAddOrOverride, ...claims };
  details.accessTokenGeneration = access;
  response.claimsAndScopeOverrideDetails = details;
  event.response = response;
}

/** Cognito admin calls the directory follows (CloudTrail `eventName`). */
export const DIRECTORY_EVENT_NAMES = [
  'AdminAddUserToGroup',
  'AdminRemoveUserFromGroup',
  'AdminDisableUser',
  'AdminEnableUser',
  'AdminDeleteUser',
  'AdminUserGlobalSignOut',
] as const;
type DirectoryEventName = (typeof DIRECTORY_EVENT_NAMES)[number];

/** An EventBridge "AWS API Call via CloudTrail" event, as far as it is read. */
export interface CloudTrailApiCallEvent {
  readonly source?: string;
  readonly 'detail-type'?: string;
  readonly detail?: {
    readonly eventSource?: string;
    readonly eventName?: string;
    readonly eventTime?: string;
    readonly errorCode?: string;
    readonly requestParameters?: Record<string, unknown> | null;
    readonly additionalEventData?: Record<string, unknown> | null;
  };
}

/** What happened to the directory for one event. */
export type DirectorySyncOutcome =
  | {
      readonly applied: true;
      readonly eventName: DirectoryEventName;
      readonly sub: string;
      readonly revoked: boolean;
    }
  | { readonly applied: false; readonly ignored: string };

/** An admin event that names no user the directory can resolve (retried, then dead-lettered). */
export class UnresolvedUserError extends Error {
  constructor(eventName: string) {
    super(`Directory sync: the ${eventName} event names no user that can be resolved to a sub`);
    this.name = 'UnresolvedUserError';
  }
}

const HIDDEN = /^HIDDEN_(FOR|DUE_TO)_SECURITY_REASONS$/;
const SUB = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function resolveSub(
  detail: NonNullable<CloudTrailApiCallEvent['detail']>,
  directory: Pick<DynamoDbOwnerDirectory, 'lookup' | 'subOfAlias'>,
): Promise<string | undefined> {
  const fromEvent = detail.additionalEventData?.sub;
  if (typeof fromEvent === 'string' && SUB.test(fromEvent)) return fromEvent;
  const username = detail.requestParameters?.username;
  if (typeof username !== 'string' || username === '' || HIDDEN.test(username)) return undefined;
  if (username.includes('@')) return directory.subOfAlias(username);
  // In a pool that signs in by e-mail the user name is the sub; only a sub the directory
  // knows is taken, so a federated user name cannot be mistaken for one.
  return (await directory.lookup(username)) === null ? undefined : username;
}

/** Applies one Cognito admin event of `userPoolId` to the directory. */
export async function applyCognitoAdminEvent(
  event: CloudTrailApiCallEvent,
  directory: Pick<DynamoDbOwnerDirectory, 'lookup' | 'record' | 'subOfAlias'>,
  userPoolId: string,
  now: () => Date = () => new Date(),
): Promise<DirectorySyncOutcome> {
  const detail = event.detail;
  if (detail?.eventSource !== 'cognito-idp.amazonaws.com' || detail === undefined)
    return { applied: false, ignored: 'not Cognito' };
  const eventName = detail.eventName as DirectoryEventName;
  if (!DIRECTORY_EVENT_NAMES.includes(eventName))
    return { applied: false, ignored: `event ${detail.eventName}` };
  // A refused call changed nothing.
  if (detail.errorCode) return { applied: false, ignored: `failed call (${detail.errorCode})` };
  if (detail.requestParameters?.userPoolId !== userPoolId)
    return { applied: false, ignored: 'another user pool' };
  const sub = await resolveSub(detail, directory);
  if (sub === undefined) throw new UnresolvedUserError(eventName);
  const previous: OwnerRecord = (await directory.lookup(sub)) ?? {
    groups: [],
    status: 'active',
    validAfter: 0,
  };
  const group = detail.requestParameters?.groupName;
  let groups = [...previous.groups];
  let status: OwnerStatus = previous.status;
  let revokeTokens = false;
  switch (eventName) {
    case 'AdminAddUserToGroup':
      if (typeof group === 'string' && !groups.includes(group)) groups.push(group);
      break;
    case 'AdminRemoveUserFromGroup':
      groups = groups.filter((g) => g !== group);
      break;
    case 'AdminDisableUser':
      status = 'disabled';
      break;
    case 'AdminEnableUser':
      // Back with the groups the directory holds now, which followed every change meanwhile.
      status = 'active';
      break;
    case 'AdminDeleteUser':
      status = 'deleted';
      groups = [];
      break;
    case 'AdminUserGlobalSignOut':
      revokeTokens = true;
      break;
  }
  if (!OWNER_STATUSES.includes(status)) status = 'disabled';
  const { revoked } = await syncOwner(directory, sub, { groups, status, revokeTokens }, now());
  return { applied: true, eventName, sub, revoked };
}
