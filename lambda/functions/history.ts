/**
 * Conversation history and the caller's privacy rights (`/api/v1/conversations*`,
 * `/api/v1/me*`). No model access; may decrypt the caller's messages and erase their data.
 * Wired by the composition root (lambda/compose/compose-function.ts).
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { awsAdapters } from '../compose/aws-adapters';
import { composeHistory } from '../compose/compose-function';

const adapters = awsAdapters('history');

export const handler = composeHistory(adapters).handler.use(logMetrics(adapters.powertools.metrics));
