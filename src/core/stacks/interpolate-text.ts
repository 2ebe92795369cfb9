// `$$` first so an escaped dollar is never read as the start of a reference.
const REFERENCE = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` and `$NAME` with the variable's text and `$$` with a literal `$`, as
 * stack files and compose files do (so `$$HOME` reaches a container shell as `$HOME`).
 * Answers the names that have no value, or are not names, instead of guessing.
 */
export function interpolateText(
  text: string,
  lookup: (name: string) => string | undefined,
): { text: string } | { error: string } {
  const problems: string[] = [];
  const result = text.replace(REFERENCE, (match, braced: string | undefined, bare: string | undefined) => {
    if (match === "$$") return "$";
    const name = (braced ?? bare) as string;
    if (!NAME.test(name)) {
      problems.push(`"${match}" is not a variable reference (use $$ for a literal $)`);
      return match;
    }
    const value = lookup(name);
    if (value === undefined) problems.push(`undefined variable ${name}`);
    return value ?? match;
  });
  return problems.length === 0 ? { text: result } : { error: problems.join("; ") };
}
