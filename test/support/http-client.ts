/** A response read in full, for assertions. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly contentType: string;
  json(): unknown;
}

export interface TestRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
  /** "manual" to see a redirect (its status and Location) instead of following it. */
  readonly redirect?: RequestInit["redirect"];
}

/** Sends a real HTTP request over loopback and reads the whole response. */
export async function send(baseUrl: string, path: string, request: TestRequest = {}): Promise<TestResponse> {
  const response = await fetch(new URL(path, baseUrl), {
    method: request.method ?? "GET",
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    redirect: request.redirect,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    contentType: response.headers.get("content-type") ?? "",
    json: () => JSON.parse(text),
  };
}

/** Sends a JSON body with the JSON content type (and any other headers, e.g. credentials). */
export function sendJson(
  baseUrl: string,
  path: string,
  method: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<TestResponse> {
  return send(baseUrl, path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}
