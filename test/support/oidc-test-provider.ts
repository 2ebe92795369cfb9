import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import Provider from "oidc-provider";

/** A user at the provider: its claims (sub is the account id). */
export interface ProviderAccount {
  readonly email?: string;
  readonly email_verified?: boolean;
}

/** A provider client for the master; one per token endpoint authentication method. */
export interface ProviderClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly token_endpoint_auth_method: "client_secret_basic" | "client_secret_post";
}

export interface TestProvider {
  /** The issuer, e.g. http://127.0.0.1:40123 (also the origin of every endpoint). */
  readonly issuer: string;
}

/**
 * A real OpenID Connect provider (the npm oidc-provider) on a loopback port, with its
 * development login and consent pages, closed when the test ends. Any password logs an account in.
 */
export async function startTestProvider(
  t: TestContext,
  options: {
    readonly redirectUri: string;
    readonly clients: readonly ProviderClient[];
    readonly accounts: Readonly<Record<string, ProviderAccount>>;
  },
): Promise<TestProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: options.clients.map((client) => ({
      ...client,
      redirect_uris: [options.redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    })),
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    cookies: { keys: ["oidc-test-provider-cookie-key"] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, sub) {
      const account = options.accounts[sub];
      return account && { accountId: sub, claims: () => ({ sub, ...account }) };
    },
  });
  server.on("request", provider.callback());
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { issuer };
}

/**
 * A browser at the provider: follows the authorization URL through the provider's login and
 * consent pages (plain HTTP, with the provider's cookies) until the provider redirects elsewhere,
 * and returns that redirect. `abort` cancels at the login page instead.
 */
export async function loginAtProvider(
  authorizationUrl: string,
  account: string,
  options: { readonly abort?: boolean } = {},
): Promise<URL> {
  const origin = new URL(authorizationUrl).origin;
  const cookies = new Map<string, string>();
  const request = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    return response;
  };
  let location = authorizationUrl;
  for (let step = 0; step < 10; step++) {
    const url = new URL(location, origin);
    if (url.origin !== origin) return url;
    if (!/^\/interaction\/[^/]+$/.test(url.pathname)) {
      const response = await request(url.href);
      assert.ok(
        response.status >= 300 && response.status < 400,
        `${url.pathname}: ${response.status} ${await response.text()}`,
      );
      location = response.headers.get("location") ?? "";
      continue;
    }
    if (options.abort) {
      location = (await request(`${url.href}/abort`)).headers.get("location") ?? "";
      continue;
    }
    const page = await (await request(url.href)).text();
    const action = /action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    assert.ok(action && prompt, `not an interaction page: ${page.slice(0, 300)}`);
    const form = new URLSearchParams(prompt === "login" ? { prompt, login: account, password: "any" } : { prompt });
    const submitted = await request(new URL(action.replaceAll("&amp;", "&"), origin).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    location = submitted.headers.get("location") ?? "";
  }
  throw new Error("the provider never redirected back");
}
