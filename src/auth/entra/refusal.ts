/**
 * Post/redirect/get for refused sign-ins. The callback (and the hand-off) URL carries a
 * one-time code, state or ticket: rendering the refusal there means a reload replays
 * it and shows another, misleading error ("already used"), and the page's URL keeps
 * the code. So a browser is sent (303) to /.auth/error, which shows the refusal kept
 * in the encrypted flow cookie of this host — the same page on every reload, until a
 * new sign-in starts (a new flow) or the flow expires (15 minutes).
 */
import type { Core } from '../../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../../routing/reserved.ts';
import { noStore } from '../../session/plugin.ts';
import { replyError } from '../../pages/errors.ts';
import { html } from '../../pages/html.ts';
import type { EntraErrorInfo } from './aadsts.ts';
import { EntraError, isEntraErrorCode, replyEntraError, unlinkedIdentity } from './errors.ts';
import { isGuid } from '../../util/security.ts';

const REFUSAL_KEY = 'entraRefusal';

interface KeptRefusal {
  readonly code: string;
  readonly userMessage: string;
  readonly info: EntraErrorInfo | null;
  /** the failed request's id and time (the reference people quote) */
  readonly ref: string;
  readonly at: number;
  /** an unlinked Microsoft account's own tenant and object id (errors.ts unlinkedIdentity) */
  readonly who?: { readonly tid: string; readonly oid: string } | null;
}

function isInfo(v: unknown): v is EntraErrorInfo {
  const i = v as Partial<EntraErrorInfo> | null;
  return typeof i === 'object' && i !== null && typeof i.code === 'string' && typeof i.message === 'string' && (i.hint === null || typeof i.hint === 'string');
}

function isKept(v: unknown): v is KeptRefusal {
  const r = v as Partial<KeptRefusal> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    isEntraErrorCode(r.code) &&
    typeof r.userMessage === 'string' &&
    (r.info === null || isInfo(r.info)) &&
    typeof r.ref === 'string' &&
    typeof r.at === 'number'
  );
}

/** Keep the refusal in this host's flow cookie and send the browser to /.auth/error. */
export function redirectToRefusal(core: Core, request: FastifyRequest, reply: FastifyReply, err: EntraError): FastifyReply {
  const kept: KeptRefusal = {
    code: err.code,
    userMessage: err.userMessage,
    info: err.info,
    ref: request.id,
    at: core.now(),
    who: unlinkedIdentity(err),
  };
  if (core.sessions.updateFlow(request, { [REFUSAL_KEY]: kept }) === null) core.sessions.startFlow(request, '/', { [REFUSAL_KEY]: kept });
  return noStore(reply).header('x-request-id', request.id).redirect(PATHS.error, 303);
}

/** GET /.auth/error: the kept refusal, or a plain way back when there is none. */
export function showRefusal(core: Core, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  noStore(reply);
  const flow = core.sessions.flow(request);
  const kept = flow?.[REFUSAL_KEY];
  if (!isKept(kept) || !isEntraErrorCode(kept.code)) {
    const back = request.site.kind === 'central' ? html`` : html`<p class="links"><a href="${PATHS.login}">Go to the sign-in page</a></p>`;
    return replyError(request, reply, 'NOT_FOUND', {
      html: true,
      title: 'No sign-in to report',
      message: 'There is no recent sign-in error to show in this browser. Start again from the sign-in page.',
      extra: back,
    });
  }
  const who = kept.who && isGuid(kept.who.tid) && isGuid(kept.who.oid) ? { tid: kept.who.tid, oid: kept.who.oid } : null;
  const err = new EntraError(kept.code, { info: kept.info, userMessage: kept.userMessage, ...(who ? { audit: who } : {}) });
  const returnTo = request.site.kind === 'central' ? null : (flow?.rd ?? null);
  return replyEntraError(request, reply, err, returnTo, { id: kept.ref, at: kept.at });
}
