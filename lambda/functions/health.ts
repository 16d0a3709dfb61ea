/**
 * `GET /healthz` (and HEAD): the load balancer's health check. Public by design, answers without
 * touching any dependency (a dependency outage must not drain every target at once).
 */
import middy from '@middy/core';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { NotFoundError } from '../shared/errors';
import { type EdgeContext, httpEdge, jsonResponse, parsedRequest } from '../shared/http';

/** The health check's core. */
export async function health(_event: ALBEvent, context: EdgeContext): Promise<ALBResult> {
  const request = parsedRequest(context);
  // HEAD too: the listener rule admits it, and uptime probes use it.
  if ((request.method !== 'GET' && request.method !== 'HEAD') || request.path !== '/healthz') {
    throw new NotFoundError();
  }
  return jsonResponse(200, { status: 'ok' });
}

export const handler = middy<ALBEvent, ALBResult, Error, EdgeContext>().use(httpEdge()).handler(health);
