/**
 * Cognito pre-token-generation trigger: records the user's current groups in the owner
 * directory at every sign-in and refresh (lambda/auth/directory-writers.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { recordTokenGeneration, type TokenGenerationEvent } from '../auth/directory-writers';
import { DynamoDbOwnerDirectory } from '../auth/owner-directory-dynamodb';

const table = process.env.TABLE_API_KEYS;
if (!table) throw new Error('Pre-token generation: environment variable TABLE_API_KEYS is not set');
const directory = new DynamoDbOwnerDirectory(new DynamoDBClient({ maxAttempts: 2 }), table);

/** Lambda entry point. */
export const handler = async <E extends TokenGenerationEvent>(event: E): Promise<E> =>
  recordTokenGeneration(event, directory);
