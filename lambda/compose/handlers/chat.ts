/**
 * The chat function's routes.
 * One module per function, so that a function's bundle carries only its own routes (its
 * entry calls only its own composer in lambda/compose/compose-function.ts).
 */
import { type ChatDeps, chat, parseChatBody } from '../../chat/chat-service';
import { callerOf, createApiHandler } from '../../runtime/api-handler';
import { jsonResponse } from '../../shared/http';
import { type BaseDeps, metaOf } from './base';

/** `POST /api/v1/chat` and `GET /api/v1/models`: the only function that may call Bedrock. */
export function chatFunction(deps: BaseDeps & { readonly chat: ChatDeps }) {
  return createApiHandler({
    claimCheck: deps.claimCheck,
    log: deps.log,
    routes: {
      'POST /api/v1/chat': async (call) => {
        const principal = callerOf(call);
        const result = await chat(principal, parseChatBody(call.request.body), metaOf(call), deps.chat);
        return jsonResponse(200, result.body, result.headers);
      },
      'GET /api/v1/models': async (call) => {
        callerOf(call);
        const settings = await deps.chat.settings();
        return jsonResponse(200, {
          defaultModelId: settings.defaultModelId,
          items: settings.modelAllowList.map((id) => ({ id, name: deps.chat.modelNames?.[id] ?? id })),
        });
      },
    },
  });
}
