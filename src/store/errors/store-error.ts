/** Base of every error the state store throws on purpose; `code` is stable for callers to switch on. */
export class StoreError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
