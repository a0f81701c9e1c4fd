/**
 * Settings → Security → Single Sign-On (Staff SSO, steps 1–6 of the documentation).
 *
 * GET shows the page (and, back from a test sign-in, what Microsoft returned).
 * POST `action` = save | test | test-draft | discard-draft | save-tested | enable |
 * disable | sso-only-on | sso-only-off | auto-provision-on | auto-provision-off; every
 * change is written at the version the form was rendered from, audited, and answered
 * with a redirect.
 *
 * The form always shows the SAVED values: values of a Test Connection that did not come
 * back (or failed) are shown apart, as "Untested changes from 14:05 — Test / Discard",
 * so that an abandoned test is never mistaken for, or saved as, the settings.
 *
 * Rules: Enable SSO only for saved values that passed Test Connection (fingerprint);
 * while SSO is on, new credentials must pass the test before they replace the working
 * ones; SSO-only only by an admin signed in with SSO; turning SSO off turns SSO-only off.
 */
import { SETTINGS } from '../settings/store.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../auth/policy.ts';
import { STAFF_REALM } from '../routing/sites.ts';
import { replyError } from '../pages/errors.ts';
import { ADMIN_PATHS, type Notice } from '../pages/admin.ts';
import { actorOf, csrfToken, csrfValid, csrfError, type AdminActor } from './access.ts';
import { auditAdmin, auditSettingsChange, changes, CONFLICT_TEXT, formVersion, loadSetting, saveSetting, type Versioned } from './settings.ts';
import { formBody, parseGuid, parseSecret, parseTenantId, textField } from './forms.ts';
import {
  beginTestSignIn,
  checkConnection,
  readStaffSecret,
  registeredRedirectUris,
  sealStaffSecret,
  settingsFingerprint,
  takeTestResult,
  type ConnectionCheck,
  type EntraAppCredentials,
  type TestSignInResult,
} from '../auth/entra/index.ts';
import { draftCredentials, isVerified, loadDraft, putDraft, savedFingerprint, sealDraftSecret, type TestDraft } from './sso-draft.ts';
import { ssoBody, type SsoView } from './sso-view.ts';
import { sendAdmin } from './shell.ts';
import { html } from '../pages/html.ts';
import { credentialRoutes, credentialsView } from './sso-credentials.ts';
import { credentialsSection } from './sso-credentials-view.ts';
import { roleRoutes, rolesNotice, rolesSection } from './sso-roles.ts';

type FieldErrors = SsoView['fieldErrors'];

interface RenderExtras {
  readonly notice?: Notice | null;
  readonly check?: ConnectionCheck | null;
  readonly result?: TestSignInResult | null;
  readonly form?: { tenantId: string; clientId: string };
  readonly fieldErrors?: FieldErrors;
  /** the credentials section's expiry date field (sso-credentials.ts) */
  readonly secretExpiryError?: string;
  /** the roles section's refused form (sso-roles.ts) */
  readonly roles?: { readonly error: string; readonly form: { source: string; values: string } };
}

interface Ctx {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly actor: AdminActor;
  readonly body: Record<string, unknown>;
  readonly current: Versioned<StaffSsoSettings>;
}

const DONE: Readonly<Record<string, Notice>> = Object.freeze({
  saved: { kind: 'ok', text: 'Saved. Run Test Connection to verify these values: SSO can be enabled once the test passes.' },
  'saved-tested': { kind: 'ok', text: 'Saved. These values passed Test Connection: you can enable SSO.' },
  unchanged: { kind: 'ok', text: 'Nothing changed.' },
  enabled: {
    kind: 'ok',
    text: 'SSO is on. Team members now see “Sign in with Microsoft” on the login page (every server picks the change up within a few seconds).',
  },
  disabled: { kind: 'ok', text: 'SSO is off (and SSO-only with it): everyone signs in with email and password.' },
  'sso-only-on': { kind: 'ok', text: 'SSO-only is on: Staff password sign-in is refused.' },
  'sso-only-off': { kind: 'ok', text: 'SSO-only is off: Staff members can sign in with email and password again.' },
  'auto-provision-on': { kind: 'ok', text: 'Auto-provision is on: new members of your tenant get a Staff member account on first sign-in.' },
  'auto-provision-off': { kind: 'ok', text: 'Auto-provision is off.' },
  discarded: { kind: 'ok', text: 'The tested values were discarded. The form shows the saved settings.' },
});

function doneNotice(query: unknown): Notice | null {
  const done = (query as { done?: unknown } | null)?.done;
  return typeof done === 'string' && Object.hasOwn(DONE, done) ? (DONE[done] as Notice) : null;
}

function authorityOrigin(core: Core): string {
  return new URL(core.config.entra.authorityHost).origin;
}

/** The credential fields of the form, validated; the secret is '' when the field was left empty. */
function parseCredentials(body: Record<string, unknown>): {
  creds: { tenantId: string; clientId: string; secret: string } | null;
  form: { tenantId: string; clientId: string };
  errors: FieldErrors;
} {
  const tenant = parseTenantId(textField(body, 'tenantId'), 'Tenant ID');
  const client = parseGuid(textField(body, 'clientId'), 'Client ID');
  const secret = parseSecret(body, 'clientSecret');
  const form = { tenantId: textField(body, 'tenantId') ?? '', clientId: textField(body, 'clientId') ?? '' };
  const errors: FieldErrors = {
    ...(tenant.ok ? {} : { tenantId: tenant.error }),
    ...(client.ok ? {} : { clientId: client.error }),
    ...(secret.ok ? {} : { clientSecret: secret.error }),
  };
  if (!tenant.ok || !client.ok || !secret.ok) return { creds: null, form, errors };
  return { creds: { tenantId: tenant.value, clientId: client.value, secret: secret.value }, form, errors };
}

export function ssoRoutes(app: FastifyInstance, core: Core): void {
  const { now } = core;

  async function render(request: FastifyRequest, reply: FastifyReply, status: number, x: RenderExtras = {}): Promise<FastifyReply> {
    const actor = actorOf(request);
    const { value: settings, version } = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    const draft = await loadDraft(core, actor.user.id);
    const view: SsoView = {
      csrf: csrfToken(core, request),
      version,
      settings,
      verified: isVerified(core, settings),
      redirectUris: registeredRedirectUris(core.config).staff,
      // the saved values (or, after an error, what was posted): a test's values are shown apart
      form: x.form ?? { tenantId: settings.tenantId ?? '', clientId: settings.clientId ?? '' },
      fieldErrors: x.fieldErrors ?? {},
      notice: x.notice ?? null,
      check: x.check ?? null,
      result: x.result ?? null,
      pending: draft?.passedAt
        ? { tenantId: draft.tenantId, clientId: draft.clientId, newSecret: draft.secretEnc !== null, passedAt: draft.passedAt, claims: draft.claims }
        : null,
      untested:
        draft && !draft.passedAt
          ? { tenantId: draft.tenantId, clientId: draft.clientId, newSecret: draft.secretEnc !== null, startedAt: draft.startedAt }
          : null,
      ssoSession: actor.session.amr.includes('sso'),
    };
    const credentials = credentialsSection(credentialsView(core, request, view.csrf, { value: settings, version }, x.secretExpiryError ?? null));
    const roles = rolesSection({
      csrf: view.csrf,
      version,
      settings,
      notice: rolesNotice(request.query),
      error: x.roles?.error ?? null,
      ...(x.roles ? { form: x.roles.form } : {}),
    });
    return sendAdmin(core, request, reply, status, {
      title: 'Single Sign-On',
      crumbs: ['Security', 'Single Sign-On'],
      section: 'sso',
      body: html`${ssoBody(view)}${credentials}${roles}`,
      formTargets: [authorityOrigin(core)],
    });
  }
  credentialRoutes(app, core, (request, reply, status, secretExpiryError) => render(request, reply, status, { secretExpiryError }));
  roleRoutes(app, core, (request, reply, status, roles) => render(request, reply, status, { roles }));

  function stamp(next: StaffSsoSettings, actor: AdminActor): StaffSsoSettings {
    return { ...next, updatedBy: actor.user.email, updatedAt: now() };
  }

  function auditChange(c: Pick<Ctx, 'request' | 'actor'>, action: string, before: StaffSsoSettings, after: StaffSsoSettings): Promise<void> {
    const diff: Record<string, unknown> = changes(before, after, ['tenantId', 'clientId', 'enabled', 'ssoOnly', 'autoProvision', 'autoLink', 'testedAt']);
    // the secret itself never: only that it was replaced
    if (before.clientSecretEnc !== after.clientSecretEnc) diff.clientSecret = before.clientSecretEnc ? 'replaced' : 'set';
    return auditSettingsChange(core, c.request, c.actor, { setting: STAFF_SSO_KEY, outcome: 'success', realm: STAFF_REALM, action, changes: diff });
  }

  async function commit(c: Ctx, next: StaffSsoSettings, done: keyof typeof DONE, afterSave?: () => Promise<void>): Promise<FastifyReply> {
    const stamped = stamp(next, c.actor);
    if (!(await saveSetting(core, STAFF_SSO_KEY, stamped, c.current.version)))
      return render(c.request, c.reply, 409, { notice: { kind: 'error', text: CONFLICT_TEXT } });
    await auditChange(c, done, c.current.value, stamped);
    if (afterSave) await afterSave();
    return c.reply.code(303).header('cache-control', 'no-store').redirect(`${ADMIN_PATHS.sso}?done=${done}`);
  }

  /** Refuse an action: audited, the page again with the reason. */
  async function refuse(c: Ctx, status: number, action: string, text: string, x: RenderExtras = {}): Promise<FastifyReply> {
    await auditSettingsChange(core, c.request, c.actor, { setting: STAFF_SSO_KEY, outcome: 'failure', realm: STAFF_REALM, action, reason: text });
    return render(c.request, c.reply, status, { ...x, notice: { kind: 'error', text } });
  }

  async function save(c: Ctx): Promise<FastifyReply> {
    const { creds, form, errors } = parseCredentials(c.body);
    if (!creds) return render(c.request, c.reply, 400, { form, fieldErrors: errors, notice: { kind: 'error', text: 'Check the highlighted fields.' } });
    const s = c.current.value;
    const secret = creds.secret || readStaffSecret(core, s);
    // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
    if (secret === null)
      return render(c.request, c.reply, 400, {
        form,
        fieldErrors: {
          clientSecret: s.clientSecretEnc ? 'The saved secret cannot be read with the current encryption keys: enter it again.' : 'Enter the client secret.',
        },
      });
    const fp = settingsFingerprint(core, { tenantId: creds.tenantId, clientId: creds.clientId, clientSecret: secret });
    if (fp === savedFingerprint(core, s)) return c.reply.code(303).redirect(`${ADMIN_PATHS.sso}?done=unchanged`);
    const draft = await loadDraft(core, c.actor.user.id);
    const testedAt = draft?.passedAt && draft.fingerprint === fp ? draft.passedAt : null;
    if (s.enabled && testedAt === null) {
      return refuse(
        c,
        409,
        'save',
        'SSO is on, so new values must pass Test Connection before they replace the working ones. Click Test Connection, or turn SSO off first.',
        { form },
      );
    }
    const next: StaffSsoSettings = {
      ...s,
      tenantId: creds.tenantId,
      clientId: creds.clientId,
      ...(creds.secret ? { clientSecretEnc: sealStaffSecret(core, creds.secret), secretSetAt: now() } : {}),
      testedFingerprint: testedAt === null ? null : fp,
      testedAt,
    };
    return commit(c, next, testedAt === null ? 'saved' : 'saved-tested', testedAt === null ? undefined : () => putDraft(core, c.actor.user.id, null));
  }

  async function saveTested(c: Ctx): Promise<FastifyReply> {
    const s = c.current.value;
    const draft = await loadDraft(core, c.actor.user.id);
    const creds = draft?.passedAt ? draftCredentials(core, c.actor.user.id, draft, s) : null;
    if (!draft?.passedAt || !creds || settingsFingerprint(core, creds) !== draft.fingerprint) {
      return refuse(c, 409, 'save-tested', 'There are no tested values to save (the test expired or the saved secret changed). Run Test Connection again.');
    }
    const next: StaffSsoSettings = {
      ...s,
      tenantId: creds.tenantId,
      clientId: creds.clientId,
      ...(draft.secretEnc ? { clientSecretEnc: sealStaffSecret(core, creds.clientSecret), secretSetAt: now() } : {}),
      testedFingerprint: draft.fingerprint,
      testedAt: draft.passedAt,
    };
    return commit(c, next, 'saved-tested', () => putDraft(core, c.actor.user.id, null));
  }

  /**
   * Test Connection with `tested`: the server-side check, then (when it passes) the round
   * trip through Microsoft, remembering what is being tested as this admin's draft.
   * `secretEnc`: the sealed secret typed for this test, or null (the saved one is tested).
   */
  async function runTest(
    c: Ctx,
    tested: EntraAppCredentials,
    secretEnc: string | null,
    form: { tenantId: string; clientId: string },
    typedSecret: boolean,
  ): Promise<FastifyReply> {
    const check = await checkConnection(core, tested);
    await auditAdmin(core, c.request, c.actor, {
      type: 'sso.test',
      outcome: check.ok ? 'success' : 'failure',
      realm: STAFF_REALM,
      details: { step: 'connection', tenantId: tested.tenantId, clientId: tested.clientId, error: check.error?.code ?? null },
    });
    if (!check.ok) {
      const retype: Notice | null = typedSecret
        ? { kind: 'warn', text: 'For your security the secret you typed was not kept: enter it again after fixing the problem.' }
        : null;
      return render(c.request, c.reply, 200, { form, check, notice: retype });
    }
    const draft: TestDraft = {
      tenantId: tested.tenantId,
      clientId: tested.clientId,
      secretEnc,
      fingerprint: settingsFingerprint(core, tested),
      startedAt: now(),
      passedAt: null,
      claims: null,
    };
    await putDraft(core, c.actor.user.id, draft);
    return beginTestSignIn(core, c.request, c.reply, tested, ADMIN_PATHS.sso);
  }

  async function test(c: Ctx): Promise<FastifyReply> {
    const { creds, form, errors } = parseCredentials(c.body);
    if (!creds) return render(c.request, c.reply, 400, { form, fieldErrors: errors, notice: { kind: 'error', text: 'Check the highlighted fields.' } });
    const secret = creds.secret || readStaffSecret(core, c.current.value);
    // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
    if (secret === null) return render(c.request, c.reply, 400, { form, fieldErrors: { clientSecret: 'Enter the client secret to test.' } });
    const secretEnc = creds.secret ? sealDraftSecret(core, c.actor.user.id, creds.secret) : null;
    return runTest(c, { tenantId: creds.tenantId, clientId: creds.clientId, clientSecret: secret }, secretEnc, form, creds.secret !== '');
  }

  /** "Test" on the untested-changes banner: the draft's values, again. */
  async function testDraft(c: Ctx): Promise<FastifyReply> {
    const draft = await loadDraft(core, c.actor.user.id);
    const creds = draft ? draftCredentials(core, c.actor.user.id, draft, c.current.value) : null;
    if (!draft || !creds)
      return refuse(
        c,
        409,
        'test-draft',
        'There are no untested changes to test any more (they expire after 30 minutes, or the secret cannot be read). Enter the values in the form and click Test Connection.',
      );
    // the form keeps showing the saved values, whatever the outcome
    return runTest(c, creds, draft.secretEnc, { tenantId: c.current.value.tenantId ?? '', clientId: c.current.value.clientId ?? '' }, false);
  }

  async function discardDraft(c: Ctx): Promise<FastifyReply> {
    await putDraft(core, c.actor.user.id, null);
    return c.reply.code(303).header('cache-control', 'no-store').redirect(`${ADMIN_PATHS.sso}?done=discarded`);
  }

  function enableRefusal(s: StaffSsoSettings): string | null {
    const certificates = (s.certificates?.length ?? 0) > 0;
    if (!s.tenantId || !s.clientId || (!s.clientSecretEnc && !certificates))
      return 'Enter and save the Tenant ID, Client ID and Client Secret first (or add and test a certificate under Credentials).';
    if (!certificates && savedFingerprint(core, s) === null)
      return 'The saved client secret cannot be read with the current encryption keys: enter it again and run Test Connection.';
    if (!isVerified(core, s))
      return 'These settings have not passed Test Connection. Click Test Connection: SSO can be enabled once the test passes for the saved values.';
    return null;
  }

  const toggles: Record<string, (c: Ctx) => Promise<FastifyReply>> = {
    async enable(c) {
      const why = enableRefusal(c.current.value);
      return why ? refuse(c, 409, 'enable', why) : commit(c, { ...c.current.value, enabled: true }, 'enabled');
    },
    disable: (c) => commit(c, { ...c.current.value, enabled: false, ssoOnly: false }, 'disabled'),
    async 'sso-only-on'(c) {
      if (!c.current.value.enabled) return refuse(c, 409, 'sso-only-on', 'Enable SSO first: SSO-only needs a working Microsoft sign-in.');
      if (!c.actor.session.amr.includes('sso')) {
        return refuse(
          c,
          403,
          'sso-only-on',
          'You signed in with a password. To prevent a lockout, SSO-only can only be turned on by an admin who signed in with Microsoft: sign out, sign in with Microsoft and try again.',
        );
      }
      // the sign-in must prove the settings in force now, not an earlier tenant
      if (c.actor.session.idp?.tid !== c.current.value.tenantId) {
        return refuse(
          c,
          403,
          'sso-only-on',
          'You signed in with Microsoft before the current tenant was configured. Sign out, sign in with Microsoft again and try again.',
        );
      }
      return commit(c, { ...c.current.value, ssoOnly: true }, 'sso-only-on');
    },
    'sso-only-off': (c) => commit(c, { ...c.current.value, ssoOnly: false }, 'sso-only-off'),
    'auto-provision-on': (c) => commit(c, { ...c.current.value, autoProvision: true }, 'auto-provision-on'),
    'auto-provision-off': (c) => commit(c, { ...c.current.value, autoProvision: false }, 'auto-provision-off'),
    'auto-link-on': (c) => commit(c, { ...c.current.value, autoLink: true }, 'auto-link-on'),
    'auto-link-off': (c) => commit(c, { ...c.current.value, autoLink: false }, 'auto-link-off'),
  };
  const actions: Record<string, (c: Ctx) => Promise<FastifyReply>> = {
    ...toggles,
    save,
    test,
    'test-draft': testDraft,
    'discard-draft': discardDraft,
    'save-tested': saveTested,
  };

  /** Back from a test sign-in: record what came back (the saved values are marked tested, or the draft passed). */
  async function recordTestResult(request: FastifyRequest, actor: AdminActor, result: TestSignInResult): Promise<Notice> {
    // the round trip itself was audited by the callback (type sso.test)
    if (!result.ok) return { kind: 'error', text: 'Test failed: the Microsoft sign-in did not complete. See the details below.' };
    const current = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    if (savedFingerprint(core, current.value) === result.fingerprint) {
      const next = stamp({ ...current.value, testedFingerprint: result.fingerprint, testedAt: result.at }, actor);
      if (!(await saveSetting(core, STAFF_SSO_KEY, next, current.version)))
        return { kind: 'warn', text: `Test passed, but ${CONFLICT_TEXT.charAt(0).toLowerCase()}${CONFLICT_TEXT.slice(1)}` };
      await auditChange({ request, actor }, 'tested', current.value, next);
      await putDraft(core, actor.user.id, null);
      return { kind: 'ok', text: 'Test passed. The saved settings are verified: you can enable SSO below.' };
    }
    const draft = await loadDraft(core, actor.user.id);
    if (draft && draft.fingerprint === result.fingerprint) {
      await putDraft(core, actor.user.id, { ...draft, passedAt: result.at, claims: result.claims });
      return { kind: 'ok', text: 'Test passed. The tested values are not saved yet: click “Save tested values” to keep them.' };
    }
    return { kind: 'warn', text: 'Test passed, but the tested values are no longer the ones being edited. Run Test Connection again.' };
  }

  app.get(ADMIN_PATHS.sso, async (request, reply) => {
    const result = takeTestResult(core, request);
    const notice = result ? await recordTestResult(request, actorOf(request), result) : doneNotice(request.query);
    return render(request, reply, 200, { notice, result });
  });

  app.post(ADMIN_PATHS.sso, async (request, reply) => {
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const name = typeof body.action === 'string' ? body.action : '';
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (!action) return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'Unknown action.' });
    const current = await loadSetting(core, SETTINGS.staffSso, STAFF_SSO_KEY);
    const version = formVersion(body);
    if (version === null) return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'The form is incomplete. Reload the page and try again.' });
    const c: Ctx = { request, reply, actor: actorOf(request), body, current };
    // a test or a discard changes no setting: a stale page may still run them
    if (name !== 'test' && name !== 'test-draft' && name !== 'discard-draft' && version !== current.version)
      return render(request, reply, 409, { notice: { kind: 'error', text: CONFLICT_TEXT } });
    return action(c);
  });
}
