import { DomainError } from "./domain-error.ts";

/** Input failed validation; `fields` maps each offending field (dotted path) to what is wrong with it. */
export class ValidationError extends DomainError {
  readonly fields: Readonly<Record<string, string>>;

  constructor(fields: Readonly<Record<string, string>>, message = "validation failed") {
    super(message);
    this.fields = fields;
  }
}
