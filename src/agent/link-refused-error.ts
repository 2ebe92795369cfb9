/** The master refused this agent for a reason retrying cannot fix; the message says what to do. */
export class LinkRefusedError extends Error {
  /** The WebSocket close code (LINK_CLOSE) or HTTP status the refusal came with. */
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = "LinkRefusedError";
    this.code = code;
  }
}
