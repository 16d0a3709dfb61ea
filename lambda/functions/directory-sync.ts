/**
 * Directory sync: Cognito admin calls (console, CLI, SDK), delivered by EventBridge from
 * CloudTrail, applied to the owner directory (lambda/auth/directory-writers.ts). Invoked
 * asynchronously; a failure is retried by Lambda and then parked in the dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { applyCognitoAdminEvent, type CloudTrailApiCallEvent } from '../auth/directory-writers';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import { readFunctionEnv } from '../compose/function-env';

const { apiKeysTable, userPoolId } = readFunctionEnv('directory-sync');
const directory = new DynamoDbOwnerDirectory(new DynamoDBClient({ maxAttempts: 3 }), apiKeysTable);
const logger = new Logger({ serviceName: 'directory-sync' });

/** Lambda entry point. */
export const handler = async (event: CloudTrailApiCallEvent): Promise<void> => {
  try {
    const outcome = await applyCognitoAdminEvent(event, directory, userPoolId);
    logger.info('directory sync', { outcome });
  } catch (error) {
    logger.error('directory sync failed', { eventName: event.detail?.eventName, error });
    throw error;
  }
};
