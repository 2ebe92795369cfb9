import { DomainError } from "./domain-error.ts";

/** The error codes of RFC 6749 (§4.1.2.1, §5.2) that Berth answers with. */
export type OAuth2ErrorCode =
  | "invalid_request"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "unsupported_response_type"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable";

/**
 * A refused OAuth2 protocol request. OAuth2 clients act on the machine-readable `code` (the
 * RFC's `error`), so it travels to the client as is; the message is its `error_description`.
 */
export class OAuth2Error extends DomainError {
  readonly code: OAuth2ErrorCode;

  constructor(code: OAuth2ErrorCode, description: string) {
    super(description);
    this.code = code;
  }
}
