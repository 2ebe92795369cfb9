/** An affinity rule: what it looks at, how it compares, and the value (a regex when in slashes). */
export type AffinityRule = {
  readonly subject: "node" | "service" | "container" | "label";
  readonly operator: "==" | "!=" | "==~" | "!=~";
  readonly value: string;
};

// The soft operators (==~, !=~) come first so "==~x" is not read as "==" with value "~x".
const RULE = /^(node|service|container|label)(==~|!=~|==|!=)(.+)$/;

export const AFFINITY_SYNTAX = "(node|service|container|label)(==|!=|==~|!=~)value";

/**
 * Parses an affinity rule as Kontena writes them ("node==node-1", "label!=az=b",
 * "service==~/^db-/"); returns an error message when the text is not a rule or its
 * /regex/ value does not compile, so a bad rule fails at deploy time, not in the scheduler.
 */
export function parseAffinityRule(text: string): AffinityRule | { error: string } {
  const match = RULE.exec(text.trim());
  if (!match) return { error: `"${text}" is not an affinity rule: expected ${AFFINITY_SYNTAX}` };
  const value = match[3] as string;
  if (value.length > 1 && value.startsWith("/") && value.endsWith("/")) {
    try {
      new RegExp(value.slice(1, -1));
    } catch (error) {
      return { error: `"${text}" has an invalid regex: ${(error as Error).message}` };
    }
  }
  return {
    subject: match[1] as AffinityRule["subject"],
    operator: match[2] as AffinityRule["operator"],
    value,
  };
}
