/**
 * The demo's people and tenants (used by demo/start.ts and demo/totp.ts).
 * Everything here is public demo data: never reuse these secrets.
 */
export const DEMO = Object.freeze({
  staffTenant: '0b8d3c55-6e8f-4d4b-a1c2-5f0e9a7d1c11',
  acmeTenant: '2f6a9b1e-4c3d-4e8f-9a0b-7c1d2e3f4a22',
  contosoTenant: '7d4e2a1b-9c8f-4b3a-8e7d-1f2a3b4c5d33',
  staffApp: {
    clientId: '1c9e7a5b-3d2f-4e1a-8b6c-0d9e8f7a6b51',
    clientSecret: 'demo-staff-app-secret~not-for-production',
    homeTenant: '0b8d3c55-6e8f-4d4b-a1c2-5f0e9a7d1c11',
  },
  portalApp: {
    clientId: '6f2c1d9e-3b7a-4e51-9c08-2d4f5a7b8c90',
    clientSecret: 'demo-portal-app-secret~not-for-production',
    homeTenant: '0b8d3c55-6e8f-4d4b-a1c2-5f0e9a7d1c11',
  },
  get tenants() {
    return [
      {
        id: this.staffTenant,
        name: 'Regentra (staff directory)',
        users: [
          { oid: 'a1a1a1a1-0000-4000-8000-000000000001', name: 'Ada Admin', preferredUsername: 'admin@regentra.demo', email: 'admin@regentra.demo' },
          { oid: 'a1a1a1a1-0000-4000-8000-000000000002', name: 'Sam Member', preferredUsername: 'sam@regentra.demo', email: 'sam@regentra.demo' },
          { oid: 'a1a1a1a1-0000-4000-8000-000000000003', name: 'Nora Newcomer', preferredUsername: 'nora@regentra.demo', mail: 'nora@regentra.demo' },
        ],
      },
      {
        id: this.acmeTenant,
        name: 'Acme Corp',
        users: [
          { oid: 'b2b2b2b2-0000-4000-8000-000000000001', name: 'Wile E. Coyote', preferredUsername: 'wile@acme.example', email: 'wile@acme.example' },
          { oid: 'b2b2b2b2-0000-4000-8000-000000000002', name: 'José Ñúñez', preferredUsername: 'jose@acme.example', mail: 'jose@acme.example' },
        ],
      },
      {
        id: this.contosoTenant,
        name: 'Contoso (not a Regentra client)',
        users: [
          {
            oid: 'c3c3c3c3-0000-4000-8000-000000000001',
            name: 'Mallory Outsider',
            preferredUsername: 'mallory@contoso.example',
            email: 'mallory@contoso.example',
          },
        ],
      },
    ];
  },
});

export interface DemoUser {
  readonly realm: string;
  readonly email: string;
  readonly name: string;
  readonly role: 'admin' | 'member';
  readonly password: string;
  /** pre-enrolled TOTP secret (base32), or null: enrols at first sign-in */
  readonly totpSecret: string | null;
  /** the stand-in identity an admin linked to the account (`users link`), or null */
  readonly microsoft: { readonly tid: string; readonly oid: string } | null;
}

export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  {
    realm: 'staff',
    email: 'admin@regentra.demo',
    name: 'Ada Admin',
    role: 'admin',
    password: 'correct-horse-admin',
    totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    microsoft: { tid: DEMO.staffTenant, oid: 'a1a1a1a1-0000-4000-8000-000000000001' },
  },
  {
    realm: 'staff',
    email: 'sam@regentra.demo',
    name: 'Sam Member',
    role: 'member',
    password: 'correct-horse-member',
    totpSecret: null,
    microsoft: { tid: DEMO.staffTenant, oid: 'a1a1a1a1-0000-4000-8000-000000000002' },
  },
  {
    realm: 'portal:acme',
    email: 'wile@acme.example',
    name: 'Wile E. Coyote',
    role: 'member',
    password: 'correct-horse-acme',
    totpSecret: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU',
    microsoft: { tid: DEMO.acmeTenant, oid: 'b2b2b2b2-0000-4000-8000-000000000001' },
  },
  {
    realm: 'portal:globex',
    email: 'hank@globex.example',
    name: 'Hank Scorpio',
    role: 'member',
    password: 'correct-horse-globex',
    totpSecret: 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK',
    microsoft: null,
  },
]);
