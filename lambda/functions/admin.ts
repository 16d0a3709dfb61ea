/**
 * `/api/v1/admin/*`: runtime settings, the model allow-list (within what IAM allows) and the
 * audit query. The only function that may read the audit table.
 * Wired by the composition root (lambda/compose/compose-function.ts).
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { awsAdapters } from '../compose/aws-adapters';
import { composeAdmin } from '../compose/compose-function';

const adapters = awsAdapters('admin');

export const handler = composeAdmin(adapters).handler.use(logMetrics(adapters.powertools.metrics));
