import assert from "node:assert/strict";
import { send, type TestResponse } from "./http-client.ts";

/** A token endpoint answer as Berth gives it. */
export interface TokenAnswer {
  readonly id: string;
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly scope: string;
  readonly user: { readonly id: string; readonly email: string | null; readonly name: string };
}

/** Posts parameters form-encoded, as OAuth2 clients do. */
export function postForm(
  baseUrl: string,
  path: string,
  params: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>> = {},
): Promise<TestResponse> {
  return send(baseUrl, path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** A password grant that must succeed. */
export async function passwordGrant(baseUrl: string, username: string, password: string): Promise<TokenAnswer> {
  const response = await postForm(baseUrl, "/oauth2/token", { grant_type: "password", username, password });
  assert.equal(response.status, 200, response.text);
  return response.json() as TokenAnswer;
}

/** Asserts an RFC 6749 error answer with the given status and code; returns its description. */
export function assertOAuth2Error(response: TestResponse, status: number, code: string): string {
  assert.equal(response.status, status, response.text);
  assert.match(response.contentType, /^application\/json/);
  const body = response.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"], response.text);
  assert.equal(body.error, code, response.text);
  assert.equal(typeof body.error_description, "string");
  return body.error_description as string;
}
