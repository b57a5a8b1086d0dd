// oidc-provider 9 ships no type declarations: the little of it the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface TestClient {
    grantTypeAllowed(grant: string): boolean;
  }
  export type Configuration = {
    clients: Record<string, unknown>[];
    findAccount(
      ctx: unknown,
      id: string,
    ): Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> } | undefined>;
    issueRefreshToken?(ctx: unknown, client: TestClient, code: unknown): Promise<boolean>;
    [key: string]: unknown;
  };
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
