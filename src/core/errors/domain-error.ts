/**
 * Base of the errors core services throw on purpose. Each subclass means one kind of
 * failure; the HTTP host maps the kinds to status codes, so core stays free of HTTP.
 */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
