// Minimal typings for the parts of oidc-provider 9.x that the Entra stand-in uses
// (the package ships no types). Kept deliberately loose: configuration is an
// untyped record, contexts expose only what our middleware reads or writes.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ClientLike {
    readonly clientId: string;
    readonly redirectUris: string[];
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface GrantLike {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(ttl?: number): Promise<string>;
  }

  export interface TokenLike {
    readonly kind: string;
    readonly accountId?: string;
    readonly clientId?: string;
    readonly scope?: string;
    readonly scopes: Set<string>;
    readonly codeChallenge?: string;
  }

  export interface OIDCContextLike {
    readonly route: string;
    readonly params?: Record<string, unknown>;
    readonly body?: Record<string, unknown>;
    readonly client?: ClientLike;
    readonly account?: { readonly accountId: string };
    readonly entities: Record<string, TokenLike | undefined>;
    readonly requestParamScopes: Set<string>;
    readonly requestParamOIDCScopes: Set<string>;
    readonly provider: Provider;
  }

  export interface KoaContextLike {
    readonly method: string;
    readonly path: string;
    readonly headers: IncomingMessage['headers'];
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly oidc?: OIDCContextLike;
    readonly state: Record<string, unknown>;
    status: number;
    body: unknown;
    type: string;
    get(field: string): string;
    set(field: string, value: string): void;
    remove(field: string): void;
  }

  export type Middleware = (ctx: KoaContextLike, next: () => Promise<void>) => Promise<void>;

  export interface InteractionLike {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: string[]; readonly details: Record<string, unknown> };
    readonly params: Record<string, unknown>;
    readonly session?: { readonly accountId?: string; readonly uid?: string };
    readonly grantId?: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export interface SessionLike {
    readonly accountId?: string;
    destroy(): Promise<void>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: Middleware): this;
    on(event: string, listener: (ctx: KoaContextLike, err: unknown) => void): this;
    cookieName(type: 'session' | 'interaction' | 'resume'): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionLike>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    readonly Grant: new (init: { accountId: string; clientId: string }) => GrantLike;
    readonly Session: { find(id: string): Promise<SessionLike | undefined> };
  }

  export const errors: {
    readonly InvalidTarget: new (description?: string) => Error;
  };

  export default Provider;
}
