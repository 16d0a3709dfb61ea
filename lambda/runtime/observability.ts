/**
 * Structured logging and metrics for the functions (Powertools). Logs carry correlation
 * ids but never prompt or reply text; metrics are EMF lines in namespace `OmniChat`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE, type MetricName } from '../shared/metric-names';
import type { CountMetric } from './audit-sink';

/** Logger and metrics of one function. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Counts a metric, optionally with dimensions (emitted as its own EMF line). */
  readonly count: CountMetric;
  readonly countWith: (name: MetricName, dimensions: Record<string, string>, value?: number) => void;
}

/** Creates the function's logger and metrics. */
export function createObservability(serviceName: string): Observability {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName });
  const count: CountMetric = (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);
  const countWith = (name: MetricName, dimensions: Record<string, string>, value = 1) => {
    const single = metrics.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, MetricUnit.Count, value);
  };
  return { logger, metrics, count, countWith };
}
