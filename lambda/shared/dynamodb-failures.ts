/**
 * The one DynamoDB failure policy, for every store (limits, settings, conversations,
 * API keys, audit query, cursor secret).
 *
 * Throttling, server faults and anything that never got an answer (connection refused,
 * timeouts, missing credentials) mean "the store cannot decide right now": they become a
 * 503 `ServiceUnavailableError`. Client faults (a malformed request, a missing table) are
 * bugs or misconfiguration and are rethrown unchanged, so they surface as 500s and page
 * someone instead of hiding among transient outages. Either way the caller fails closed.
 */
import { ConditionalCheckFailedException, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { ServiceUnavailableError } from './errors';

/** Service error names that mean "slow down" rather than "you sent something wrong". */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ReplicatedWriteConflictException',
  'TransactionConflictException',
]);

/** True when the failure means DynamoDB is throttling us or cannot be reached. */
export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return false;
  if (!(error instanceof DynamoDBServiceException)) return true;
  return (
    error.$fault === 'server' || THROTTLING_ERRORS.has(error.name) || error.$retryable?.throttling === true
  );
}

/**
 * Runs one DynamoDB call; unavailability becomes `ServiceUnavailableError`, conditional
 * failures and client faults pass through for the caller to interpret.
 */
export async function callStore<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isStoreUnavailable(error)) throw new ServiceUnavailableError(undefined, 2, error);
    throw error;
  }
}
