/** Kontena affinity rules (`node==x`, `label!=az=/b|c/`, `service==~db`): parsing and matching. */

import { ValidationError } from "../errors/validation-error.ts";

export type AffinitySubject = "node" | "service" | "container" | "label";

/** What a rule looks at on one node. */
export interface AffinityTarget {
  readonly name: string;
  readonly labels: ReadonlySet<string>;
  /** Services of other instances on the node, by name and by `stack/name`. */
  readonly services: ReadonlyMap<string, number>;
  /** Container names of other instances on the node. */
  readonly containers: ReadonlySet<string>;
}

export interface AffinityRule {
  readonly text: string;
  /** Soft rules (`==~`, `!=~`) are preferences: dropped when they would leave no node. */
  readonly soft: boolean;
  matches(target: AffinityTarget): boolean;
}

const RULE = /^(node|service|container|label)(==~|!=~|==|!=)(.+)$/;

function invalidRule(text: string, why: string): ValidationError {
  const message = `affinity "${text}": ${why}`;
  return new ValidationError({ affinity: message }, message);
}

type ValueTest = (value: string) => boolean;

function valueTest(pattern: string, text: string): ValueTest {
  if (pattern.length >= 2 && pattern.startsWith("/") && pattern.endsWith("/")) {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern.slice(1, -1));
    } catch {
      throw invalidRule(text, `invalid regular expression ${pattern}`);
    }
    return (value) => regex.test(value);
  }
  return (value) => value === pattern;
}

function anyOf(values: Iterable<string>, test: ValueTest): boolean {
  for (const value of values) if (test(value)) return true;
  return false;
}

/** `label==az=a` tests the value of key `az`; `label==ssd` tests a whole label. */
function labelTest(pattern: string, text: string): (labels: ReadonlySet<string>) => boolean {
  const equals = pattern.indexOf("=");
  if (equals < 0) {
    const test = valueTest(pattern, text);
    return (labels) => anyOf(labels, test);
  }
  const prefix = pattern.slice(0, equals + 1);
  const test = valueTest(pattern.slice(equals + 1), text);
  return (labels) => {
    for (const label of labels) if (label.startsWith(prefix) && test(label.slice(prefix.length))) return true;
    return false;
  };
}

export function parseAffinityRule(text: string): AffinityRule {
  const match = RULE.exec(text);
  if (match === null) {
    throw invalidRule(text, "expected node|service|container|label, ==, !=, ==~ or !=~, a value");
  }
  const subject = match[1] as AffinitySubject;
  const operator = match[2]!;
  const pattern = match[3]!;
  let has: (target: AffinityTarget) => boolean;
  if (subject === "label") {
    const test = labelTest(pattern, text);
    has = (target) => test(target.labels);
  } else {
    const test = valueTest(pattern, text);
    const exact = !pattern.startsWith("/");
    if (subject === "node") has = (target) => test(target.name);
    // Exact names are one lookup; only patterns scan the node's names.
    else if (subject === "service")
      has = exact ? (t) => t.services.has(pattern) : (t) => anyOf(t.services.keys(), test);
    else has = exact ? (t) => t.containers.has(pattern) : (t) => anyOf(t.containers, test);
  }
  const negated = operator.startsWith("!");
  return { text, soft: operator.endsWith("~"), matches: negated ? (target) => !has(target) : has };
}
