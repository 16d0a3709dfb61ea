/**
 * Personal API keys: `GET/POST /api/v1/keys`, `DELETE /api/v1/keys/{id}`. Only this
 * function may write the keys table; a key is shown once and only its hash is stored.
 * Wired by the composition root (lambda/compose/compose-function.ts).
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { awsAdapters } from '../compose/aws-adapters';
import { composeKeys } from '../compose/compose-function';

const adapters = awsAdapters('keys');

export const handler = composeKeys(adapters).handler.use(logMetrics(adapters.powertools.metrics));
