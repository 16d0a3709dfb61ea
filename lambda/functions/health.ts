/**
 * `GET /healthz`: the load balancer's health check. Public by design, answers without
 * touching any dependency (a dependency outage must not drain every target at once).
 */
import middy from '@middy/core';
import type { ALBEvent, ALBResult } from 'aws-lambda';
import { NotFoundError } from '../shared/errors';
import { type EdgeContext, httpEdge, jsonResponse, parsedRequest } from '../shared/http';

/** The health check's core. */
export async function health(_event: ALBEvent, context: EdgeContext): Promise<ALBResult> {
  const request = parsedRequest(context);
  if (request.method !== 'GET' || request.path !== '/healthz') throw new NotFoundError();
  return jsonResponse(200, { status: 'ok' });
}

export const handler = middy<ALBEvent, ALBResult, Error, EdgeContext>().use(httpEdge()).handler(health);
