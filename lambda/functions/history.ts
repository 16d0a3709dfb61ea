/**
 * Conversation history and the caller's privacy rights (`/api/v1/conversations*`,
 * `/api/v1/me*`). No model access; may decrypt the caller's messages and erase their data.
 * Wired by the composition root (lambda/compose/compose-function.ts).
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { awsAdapters } from '../compose/aws-adapters';
import { composeFunction, whenComposed } from '../compose/compose-function';

const adapters = awsAdapters('history');

export const handler = whenComposed(
  composeFunction('history', adapters).then(({ handler }) =>
    handler.use(logMetrics(adapters.powertools.metrics)),
  ),
);
