/**
 * Settings → People: the accounts of the staff realm and of each client's portal.
 *
 *   GET  people/staff | people/portal/:clientId         list (search `q`, `page`)
 *   GET  people/?realm=…                                 the realm switcher
 *   GET  …/new, POST …/new                               add a person → their set-up link, shown once
 *   GET  …/accounts/:uid                                 one account and its actions
 *   POST …/accounts/:uid  action=…                       first a confirmation page, then
 *                                                        (confirm=yes) the change
 *
 * Every change goes through src/auth/password/users.ts — the one implementation behind
 * the CLI too, with its rules (the last admin who can reach the settings is never
 * disabled, demoted or unlinked) and its audit events; a refusal is audited here.
 * Sign-in history (last sign-in, methods used) comes from the audit log.
 */
import { GatewayError } from '../errors.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_PATHS, type Notice } from '../pages/admin.ts';
import { html } from '../pages/html.ts';
import { replyError } from '../pages/errors.ts';
import { portalRealm, STAFF_REALM } from '../routing/sites.ts';
import type { User } from '../store/types.ts';
import {
  AccountError,
  createLocalUser,
  linkIdentity,
  resetMfa,
  setRole,
  setStatus,
  signOutEverywhere,
  unlinkIdentity,
  unlockUser,
} from '../auth/password/users.ts';
import { issueSetupLink, pendingSetupLink } from '../auth/password/setup-link.ts';
import { hasTotp } from '../auth/totp/enrolment.ts';
import { actorOf, csrfToken, csrfValid, csrfError, type AdminActor } from './access.ts';
import { auditAdmin } from './settings.ts';
import { formBody, parseGuid, textField } from './forms.ts';
import { findClient } from './portal.ts';
import { portalClients, sendAdmin } from './shell.ts';
import {
  accountBody,
  addBody,
  confirmBody,
  isLocked,
  linkBody,
  listBody,
  type ActionOffer,
  type PersonRow,
  type RealmChoice,
  type SignInHistory,
} from './people-view.ts';
import { GUID } from '../util/security.ts';

const PAGE_SIZE = 25;

interface Realm {
  readonly realm: string;
  readonly label: string;
  /** the client, for portal realms (the sidebar's switcher) */
  readonly clientId: string | null;
}

interface Ctx {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: AdminActor;
  readonly realm: Realm;
  readonly user: User;
  readonly body: Record<string, unknown>;
}

type ActionName = 'disable' | 'enable' | 'unlock' | 'reset-mfa' | 'setup-link' | 'make-admin' | 'make-member' | 'sign-out' | 'link' | 'unlink';

interface ActionSpec {
  /** offered for this account */
  applies(u: User, realm: Realm, now: number): boolean;
  offer(u: User): Omit<ActionOffer, 'action'>;
  question(u: User): string;
  consequence(u: User): string;
  readonly danger?: boolean;
  /** the audit type users.ts records for it (refusals are recorded with the same type) */
  readonly event: string;
  readonly done: string;
}

const ACTIONS: Readonly<Record<ActionName, ActionSpec>> = Object.freeze({
  'setup-link': {
    applies: () => true,
    offer: (u) => ({
      title: 'Send a new set-up link',
      description: u.passwordHash
        ? 'A password reset: a one-time link (72 hours) with which they choose a new password. Their current password keeps working until they do.'
        : 'A one-time link (72 hours) with which they choose a password and set up their authenticator app.',
      button: 'Make a set-up link',
    }),
    question: () => 'Make a new set-up link?',
    consequence: (u) => `You will see a one-time link to send to ${u.email}. Any earlier link stops working.`,
    event: 'user.setup-link',
    done: '',
  },
  unlock: {
    applies: (u, _r, now) => isLocked(u, now) || u.failedCount > 0,
    offer: () => ({ title: 'Unlock', description: 'Clear the failed attempts and the lockout, so they can try again now.', button: 'Unlock' }),
    question: () => 'Unlock this account?',
    consequence: () => 'The failed sign-in attempts are forgotten and the lockout ends at once.',
    event: 'user.unlock',
    done: 'Unlocked: they can sign in again now.',
  },
  'reset-mfa': {
    applies: (u) => u.totpSecretEnc !== null,
    offer: () => ({
      title: 'Reset two-step verification',
      description: 'For a lost phone: forget their authenticator and recovery codes. They set up a new one at their next password sign-in; their sessions end.',
      button: 'Reset authenticator',
      danger: true,
    }),
    question: () => 'Reset two-step verification?',
    consequence: () =>
      'Their authenticator app and recovery codes stop working, every session of theirs ends, and they set up a new authenticator at their next password sign-in.',
    danger: true,
    event: 'user.mfa.reset',
    done: 'Two-step verification reset: they set it up again at their next sign-in. Their sessions end within seconds.',
  },
  'sign-out': {
    applies: () => true,
    offer: () => ({ title: 'Sign out everywhere', description: 'End every session of theirs, on every device.', button: 'Sign out everywhere' }),
    question: () => 'Sign this person out everywhere?',
    consequence: () => 'Every session of theirs ends on its next request (within seconds on every server). They can sign in again.',
    event: 'user.signout-everywhere',
    done: 'Signed out everywhere: their sessions end within seconds.',
  },
  'make-admin': {
    applies: (u, r) => r.realm === STAFF_REALM && u.role !== 'admin',
    offer: () => ({ title: 'Make admin', description: 'Admins can open these settings: SSO, portals, people and the audit log.', button: 'Make admin' }),
    question: () => 'Make this person an admin?',
    consequence: () => 'They will be able to open the settings and change SSO, portal authentication and every account.',
    event: 'user.role',
    done: 'They are an admin now.',
  },
  'make-member': {
    applies: (u, r) => r.realm === STAFF_REALM && u.role === 'admin',
    offer: () => ({ title: 'Make member', description: 'Take away access to these settings.', button: 'Make member', danger: true }),
    question: () => 'Make this admin a member?',
    consequence: () => 'They can no longer open the settings (on their next request).',
    danger: true,
    event: 'user.role',
    done: 'They are a member now.',
  },
  link: {
    applies: (u) => u.externalOid === null,
    offer: () => ({
      title: 'Link a Microsoft account',
      description:
        'Let this Microsoft identity sign in as this account (the only way for admins and accounts with a password). Find the Object ID in the Entra admin center → Users → the person; the Tenant ID on the Overview page. Their sessions end.',
      button: 'Link',
      fields: html`<div class="id-fields"><label for="tid">Tenant ID</label><input id="tid" name="tid" type="text" required maxlength="36" spellcheck="false" autocomplete="off" placeholder="72f988bf-86f1-41af-91ab-2d7cd011db47"><label for="oid">Object ID</label><input id="oid" name="oid" type="text" required maxlength="36" spellcheck="false" autocomplete="off"></div>`,
    }),
    question: () => 'Link this Microsoft account?',
    consequence: (u) => `Whoever signs in to Microsoft as this identity will be signed in as ${u.email}. Their current sessions end.`,
    event: 'user.link',
    done: 'Linked: they can sign in with Microsoft now. Their other sessions end within seconds.',
  },
  unlink: {
    applies: (u) => u.externalOid !== null,
    offer: () => ({
      title: 'Unlink the Microsoft account',
      description: 'This Microsoft identity no longer signs in as this account; their sessions end.',
      button: 'Unlink',
      danger: true,
    }),
    question: () => 'Unlink the Microsoft account?',
    consequence: (u) =>
      `They can no longer sign in with Microsoft${u.passwordHash ? ' (their password still works)' : ', and they have no password: send them a set-up link if they should keep access'}. Their sessions end.`,
    danger: true,
    event: 'user.unlink',
    done: 'Unlinked. Their sessions end within seconds.',
  },
  disable: {
    applies: (u) => u.status === 'active',
    offer: () => ({
      title: 'Disable',
      description: 'Refuse every sign-in and end their sessions; the account and its history stay.',
      button: 'Disable',
      danger: true,
    }),
    question: () => 'Disable this account?',
    consequence: () => 'They cannot sign in any more, and every session of theirs ends within seconds. You can enable the account again later.',
    danger: true,
    event: 'user.disable',
    done: 'Disabled: their sessions end within seconds.',
  },
  enable: {
    applies: (u) => u.status === 'disabled',
    offer: () => ({ title: 'Enable', description: 'Let them sign in again.', button: 'Enable' }),
    question: () => 'Enable this account?',
    consequence: () => 'They can sign in again with their password or Microsoft account.',
    event: 'user.enable',
    done: 'Enabled: they can sign in again.',
  },
});

function isAction(name: unknown): name is ActionName {
  return typeof name === 'string' && Object.hasOwn(ACTIONS, name);
}

export function peopleRoutes(app: FastifyInstance, core: Core): void {
  const { store, config, now, revocation } = core;
  const minLength = config.auth.password.minLength;

  function realms(): RealmChoice[] {
    return [{ realm: STAFF_REALM, label: 'Staff' }, ...portalClients(core).map((c) => ({ realm: portalRealm(c.id), label: `Portal: ${c.name}` }))];
  }

  /** The realm the URL names (staff, or a portal client's); an unknown client is a 404. */
  function realmOf(request: FastifyRequest): Realm {
    const clientId = (request.params as { clientId?: unknown }).clientId;
    if (clientId === undefined) return { realm: STAFF_REALM, label: 'Staff', clientId: null };
    const client = findClient(core, clientId);
    if (!client) throw new GatewayError('NOT_FOUND', 'There is no portal client with this id.');
    return { realm: portalRealm(client.id), label: `the ${client.name} portal`, clientId: client.id };
  }

  async function history(u: User): Promise<SignInHistory> {
    const events = await store.listAudit({ realm: u.realm, type: 'signin', person: u.id, limit: 50 });
    const method = (e: { details: Readonly<Record<string, unknown>> }) => (typeof e.details.method === 'string' ? e.details.method : 'unknown');
    const first = events[0];
    return { last: first ? { at: first.at, method: method(first) } : null, used: [...new Set(events.map(method))] };
  }

  function send(
    request: FastifyRequest,
    reply: FastifyReply,
    realm: Realm,
    status: number,
    title: string,
    body: ReturnType<typeof html>,
  ): Promise<FastifyReply> {
    return sendAdmin(core, request, reply, status, {
      title,
      crumbs: ['People', realm.realm === STAFF_REALM ? 'Staff' : realm.label.replace(/^the /, '')],
      section: 'people',
      clientId: realm.clientId,
      body,
    });
  }

  // --- the list ---

  app.get(ADMIN_PATHS.peopleHome, (request, reply) => {
    const wanted = (request.query as { realm?: unknown }).realm;
    const choice = realms().find((r) => r.realm === wanted) ?? { realm: STAFF_REALM, label: 'Staff' };
    return reply.code(303).redirect(ADMIN_PATHS.people(choice.realm));
  });

  async function list(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const realm = realmOf(request);
    const q = request.query as { q?: unknown; page?: unknown; done?: unknown };
    const query = typeof q.q === 'string' ? q.q.trim().slice(0, 200) : '';
    const needle = query.toLowerCase();
    const all = (await store.listUsers(realm.realm)).filter((u) => needle === '' || u.email.includes(needle) || u.displayName.toLowerCase().includes(needle));
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const asked = typeof q.page === 'string' && /^\d{1,6}$/.test(q.page) ? Number(q.page) : 1;
    const page = Math.min(Math.max(asked, 1), pages);
    const slice = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const rows: PersonRow[] = [];
    for (const user of slice) rows.push({ user, history: await history(user) });
    return send(
      request,
      reply,
      realm,
      200,
      'People',
      listBody({
        realm: realm.realm,
        realmLabel: realm.label,
        realms: realms(),
        query,
        rows,
        page,
        pages,
        total: all.length,
        now: now(),
        notice: null,
      }),
    );
  }

  // --- add a person ---

  function addForm(
    request: FastifyRequest,
    reply: FastifyReply,
    realm: Realm,
    status: number,
    form = { email: '', name: '', role: 'member' },
    errors: Record<string, string> = {},
    notice: Notice | null = null,
  ): Promise<FastifyReply> {
    return send(
      request,
      reply,
      realm,
      status,
      'Add a person',
      addBody({ realm: realm.realm, realmLabel: realm.label, csrf: csrfToken(core, request), form, errors, notice }),
    );
  }

  async function add(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const realm = realmOf(request);
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const actor = actorOf(request);
    const form = {
      email: textField(body, 'email', 254) ?? '',
      name: textField(body, 'name') ?? '',
      role: realm.realm === STAFF_REALM ? (textField(body, 'role', 10) ?? 'member') : 'member',
    };
    let user: User;
    try {
      user = await createLocalUser(store, {
        realm: realm.realm,
        email: form.email,
        name: form.name,
        role: form.role,
        password: null,
        minLength,
        actor: actor.user.id,
        now,
      });
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      const field = err.code === 'INVALID_EMAIL' || err.code === 'DUPLICATE_EMAIL' ? 'email' : err.code === 'INVALID_NAME' ? 'name' : null;
      const text = `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`;
      await auditAdmin(core, request, actor, { type: 'user.create', outcome: 'failure', realm: realm.realm, details: { reason: err.code } });
      return addForm(request, reply, realm, err.code === 'DUPLICATE_EMAIL' ? 409 : 400, form, field ? { [field]: text } : {}, {
        kind: 'error',
        text: field ? 'Check the highlighted fields.' : text,
      });
    }
    const link = await issueSetupLink(store, config, user, { reason: 'new-account', actor: actor.user.id, now });
    return send(request, reply, realm, 201, 'Account created', linkBody({ realm: realm.realm, user, url: link.url, expiresAt: link.expiresAt, created: true }));
  }

  // --- one account ---

  async function target(request: FastifyRequest, reply: FastifyReply): Promise<{ realm: Realm; user: User } | null> {
    const realm = realmOf(request);
    const uid = (request.params as { uid?: unknown }).uid;
    const user = typeof uid === 'string' && GUID.test(uid) ? await store.getUser(realm.realm, uid) : null;
    if (!user) {
      replyError(request, reply, 'NOT_FOUND', { html: true, detail: `There is no such account in ${realm.label}.` });
      return null;
    }
    return { realm, user };
  }

  async function accountPage(
    request: FastifyRequest,
    reply: FastifyReply,
    realm: Realm,
    user: User,
    status: number,
    notice: Notice | null,
  ): Promise<FastifyReply> {
    const t = now();
    const offers = (Object.keys(ACTIONS) as ActionName[])
      .filter((a) => ACTIONS[a].applies(user, realm, t))
      .map((a) => ({ action: a, ...ACTIONS[a].offer(user) }));
    return send(
      request,
      reply,
      realm,
      status,
      user.displayName,
      accountBody({
        realm: realm.realm,
        realmLabel: realm.label,
        user,
        history: await history(user),
        recoveryCodesLeft: hasTotp(user) ? await store.countRecoveryCodes(user.id) : 0,
        setupLinkExpires: await pendingSetupLink(store, user, t),
        now: t,
        csrf: csrfToken(core, request),
        offers,
        notice,
      }),
    );
  }

  async function run(c: Ctx, name: ActionName): Promise<FastifyReply> {
    const opts = { actor: c.actor.user.id, now };
    const u = c.user;
    switch (name) {
      case 'setup-link': {
        const link = await issueSetupLink(store, config, u, { reason: 'reset', ...opts });
        return send(
          c.request,
          c.reply,
          c.realm,
          200,
          'New set-up link',
          linkBody({ realm: c.realm.realm, user: u, url: link.url, expiresAt: link.expiresAt, created: false }),
        );
      }
      case 'disable':
        await setStatus(store, u, 'disabled', opts);
        break;
      case 'enable':
        await setStatus(store, u, 'active', opts);
        break;
      case 'unlock':
        await unlockUser(store, u, opts);
        break;
      case 'reset-mfa':
        await resetMfa(store, u, opts);
        break;
      case 'sign-out':
        await signOutEverywhere(store, u, opts);
        break;
      case 'make-admin':
        await setRole(store, u, 'admin', opts);
        break;
      case 'make-member':
        await setRole(store, u, 'member', opts);
        break;
      case 'link':
        await linkIdentity(store, u, { tid: typeof c.body.tid === 'string' ? c.body.tid : '', oid: typeof c.body.oid === 'string' ? c.body.oid : '' }, opts);
        break;
      case 'unlink':
        await unlinkIdentity(store, u, opts);
        break;
    }
    revocation.forget(u.realm, u.id);
    return c.reply
      .code(303)
      .header('cache-control', 'no-store')
      .redirect(`${ADMIN_PATHS.account(c.realm.realm, u.id)}?done=${name}`);
  }

  async function act(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const found = await target(request, reply);
    if (!found) return reply;
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const name = body.action;
    if (!isAction(name)) return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'Unknown action.' });
    const spec = ACTIONS[name];
    const { realm, user } = found;
    const c: Ctx = { request, reply, actor: actorOf(request), realm, user, body };
    if (!spec.applies(user, realm, now()))
      return accountPage(request, reply, realm, user, 409, {
        kind: 'error',
        text: 'This action does not apply to the account as it is now (someone may have changed it meanwhile).',
      });
    const carry: Record<string, string> = {};
    if (name === 'link') {
      const tid = parseGuid(textField(body, 'tid', 64), 'Tenant ID');
      const oid = parseGuid(textField(body, 'oid', 64), 'Object ID');
      if (!tid.ok || !oid.ok)
        return accountPage(request, reply, realm, user, 400, {
          kind: 'error',
          text: [tid, oid]
            .map((p) => (p.ok ? '' : p.error))
            .filter(Boolean)
            .join(' '),
        });
      carry.tid = tid.value;
      carry.oid = oid.value;
    }
    if (body.confirm !== 'yes') {
      return send(
        request,
        reply,
        realm,
        200,
        spec.question(user),
        confirmBody({
          realm: realm.realm,
          user,
          csrf: csrfToken(core, request),
          action: name,
          question: spec.question(user),
          consequence: spec.consequence(user),
          button: spec.offer(user).button,
          danger: spec.danger === true,
          carry,
        }),
      );
    }
    try {
      return await run({ ...c, body: { ...body, ...carry } }, name);
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      await auditAdmin(core, request, c.actor, {
        type: spec.event,
        outcome: 'failure',
        realm: realm.realm,
        details: { target: user.email, action: name, reason: err.code, message: err.message },
      });
      const text = `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`;
      return accountPage(request, reply, realm, user, err.code === 'INVALID_IDENTITY' ? 400 : 409, { kind: 'error', text });
    }
  }

  async function show(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const found = await target(request, reply);
    if (!found) return reply;
    const done = (request.query as { done?: unknown }).done;
    const notice: Notice | null = isAction(done) && ACTIONS[done].done ? { kind: 'ok', text: ACTIONS[done].done } : null;
    return accountPage(request, reply, found.realm, found.user, 200, notice);
  }

  async function addPage(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    return addForm(request, reply, realmOf(request), 200);
  }

  for (const base of [`${ADMIN_PATHS.peopleHome}staff`, `${ADMIN_PATHS.peopleHome}portal/:clientId`]) {
    app.get(base, list);
    app.get(`${base}/new`, addPage);
    app.post(`${base}/new`, add);
    app.get(`${base}/accounts/:uid`, show);
    app.post(`${base}/accounts/:uid`, act);
  }
}
