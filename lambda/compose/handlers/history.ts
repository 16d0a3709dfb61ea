/**
 * The history function's routes.
 * One module per function, so that a function's bundle carries only its own routes (its
 * entry calls only its own composer in lambda/compose/compose-function.ts).
 */
import {
  deleteConversation,
  describeCaller,
  eraseMyData,
  exportMyData,
  getConversation,
  type HistoryDeps,
  listConversations,
  parsePageQuery,
} from '../../chat/history-service';
import { callerOf, createApiHandler } from '../../runtime/api-handler';
import { jsonResponse } from '../../shared/http';
import { type BaseDeps, metaOf } from './base';

/** Conversation history and the caller's privacy rights; no model access. */
export function historyFunction(deps: BaseDeps & { readonly history: HistoryDeps }) {
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    routes: {
      'GET /api/v1/conversations': async (call) => {
        const page = parsePageQuery(call.request.query);
        return jsonResponse(200, await listConversations(callerOf(call), page, deps.history));
      },
      'GET /api/v1/conversations/{id}': async (call) =>
        jsonResponse(200, await getConversation(callerOf(call), call.params.id, metaOf(call), deps.history)),
      'DELETE /api/v1/conversations/{id}': async (call) => {
        await deleteConversation(callerOf(call), call.params.id, metaOf(call), deps.history);
        return jsonResponse(204, undefined);
      },
      'GET /api/v1/me': async (call) => jsonResponse(200, describeCaller(callerOf(call))),
      'GET /api/v1/me/export': async (call) =>
        jsonResponse(200, await exportMyData(callerOf(call), metaOf(call), deps.history), {
          'Content-Disposition': 'attachment; filename="omnichat-export.json"',
        }),
      'DELETE /api/v1/me': async (call) =>
        jsonResponse(200, await eraseMyData(callerOf(call), metaOf(call), deps.history)),
    },
  });
}
