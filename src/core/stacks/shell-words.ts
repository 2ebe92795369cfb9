/**
 * Splits a command line the way a POSIX shell splits words (quotes, backslashes), without
 * expanding anything: `cmd: mongo --eval "rs.initiate()"` must reach Docker as three words,
 * as Kontena's Shellwords.split gives them. Returns an error message for an unmatched quote.
 */
export function splitShellWords(line: string): string[] | { error: string } {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let index = 0;
  while (index < line.length) {
    const char = line[index++] as string;
    if (char === "'") {
      const end = line.indexOf("'", index);
      if (end < 0) return { error: "unmatched single quote" };
      word += line.slice(index, end);
      index = end + 1;
      inWord = true;
    } else if (char === '"') {
      let closed = false;
      while (index < line.length) {
        const inner = line[index++] as string;
        if (inner === '"') {
          closed = true;
          break;
        }
        // Inside double quotes a backslash escapes only these, as in sh.
        if (inner === "\\" && index < line.length && '"\\$`'.includes(line[index] as string)) {
          word += line[index++];
        } else {
          word += inner;
        }
      }
      if (!closed) return { error: "unmatched double quote" };
      inWord = true;
    } else if (char === "\\") {
      if (index < line.length) word += line[index++];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
