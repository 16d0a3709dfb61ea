/**
 * Cognito pre-token-generation trigger: records the user's current groups in the owner
 * directory at every sign-in and refresh (lambda/auth/directory-writers.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { recordTokenGeneration, type TokenGenerationEvent } from '../auth/directory-writers';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';
import { readFunctionEnv } from '../compose/function-env';

const env = readFunctionEnv('pre-token-generation');
const directory = new DynamoDbOwnerDirectory(new DynamoDBClient({ maxAttempts: 2 }), env.apiKeysTable);

/** Lambda entry point. */
export const handler = async <E extends TokenGenerationEvent>(event: E): Promise<E> =>
  recordTokenGeneration(event, directory);
