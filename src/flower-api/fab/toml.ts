import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** A TOML value as far as a Flower pyproject.toml needs: scalars, arrays, tables. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/**
 * Reads the TOML a pyproject.toml is written in: `[table]` and `[[array]]` headers, dotted and
 * quoted keys, basic and literal strings (one-line and multi-line), integers, floats, booleans,
 * arrays over several lines and inline tables. Dates are refused. Every problem is a
 * FedbridgeError naming `label` and the line, so a bad file is never half-read.
 */
export function parseToml(text: string, label: string): TomlTable {
  return new Reader(text, label).document();
}

class Reader {
  readonly #text: string;
  readonly #label: string;
  #at = 0;

  constructor(text: string, label: string) {
    this.#text = text;
    this.#label = label;
  }

  document(): TomlTable {
    const root: TomlTable = {};
    let table = root;
    for (;;) {
      this.#skipBlank(true);
      if (this.#at >= this.#text.length) return root;
      if (this.#text.startsWith("[[", this.#at)) {
        this.#at += 2;
        const path = this.#keyPath();
        this.#expect("]]");
        const parent = this.#table(root, path.slice(0, -1));
        const last = path.at(-1) as string;
        const list = parent[last] ?? [];
        if (!Array.isArray(list)) this.#fail(`${path.join(".")} is not an array of tables`);
        table = {};
        list.push(table);
        parent[last] = list;
      } else if (this.#text[this.#at] === "[") {
        this.#at += 1;
        const path = this.#keyPath();
        this.#expect("]");
        table = this.#table(root, path);
      } else {
        this.#keyValue(table);
      }
      this.#endOfLine();
    }
  }

  #keyValue(into: TomlTable): void {
    const path = this.#keyPath();
    this.#expect("=");
    const value = this.#value();
    const parent = this.#table(into, path.slice(0, -1));
    const last = path.at(-1) as string;
    if (last in parent) this.#fail(`key ${path.join(".")} is defined twice`);
    parent[last] = value;
  }

  /** The table at `path` under `root`, made as needed. */
  #table(root: TomlTable, path: readonly string[]): TomlTable {
    let table = root;
    for (const key of path) {
      let next = table[key] ?? {};
      if (Array.isArray(next)) next = next.at(-1) ?? {};
      if (typeof next !== "object" || Array.isArray(next)) this.#fail(`${key} is not a table`);
      table[key] = table[key] ?? next;
      table = next;
    }
    return table;
  }

  #keyPath(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.#skipSpaces();
      const c = this.#text[this.#at];
      if (c === '"' || c === "'") keys.push(this.#string());
      else {
        const match = /^[A-Za-z0-9_-]+/.exec(this.#text.slice(this.#at, this.#at + 256));
        if (match === null) this.#fail("expected a key");
        keys.push(match[0]);
        this.#at += match[0].length;
      }
      this.#skipSpaces();
      if (this.#text[this.#at] !== ".") return keys;
      this.#at += 1;
    }
  }

  #value(): TomlValue {
    this.#skipSpaces();
    const c = this.#text[this.#at];
    if (c === '"' || c === "'") return this.#string();
    if (c === "[") return this.#array();
    if (c === "{") return this.#inlineTable();
    const match = /^[^\s,\]}#]+/.exec(this.#text.slice(this.#at, this.#at + 256));
    if (match === null) this.#fail("expected a value");
    const word = match[0];
    this.#at += word.length;
    if (word === "true" || word === "false") return word === "true";
    if (/^[+-]?(inf|nan)$/.test(word))
      return word.includes("nan") ? Number.NaN : Number(`${word.replace("inf", "Infinity")}`);
    const plain = word.replace(/_/g, "");
    if (/^[+-]?(0|[1-9]\d*)$/.test(plain)) return Number(plain);
    if (/^0x[0-9a-fA-F]+$|^0o[0-7]+$|^0b[01]+$/.test(plain)) return Number(plain);
    if (/^[+-]?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(plain)) return Number(plain);
    return this.#fail(`cannot read the value ${word} (dates and bare words are not supported)`);
  }

  #array(): TomlValue[] {
    this.#at += 1;
    const items: TomlValue[] = [];
    for (;;) {
      this.#skipBlank(true);
      if (this.#text[this.#at] === "]") break;
      items.push(this.#value());
      this.#skipBlank(true);
      if (this.#text[this.#at] === ",") this.#at += 1;
      else if (this.#text[this.#at] !== "]") this.#fail("expected , or ] in an array");
    }
    this.#at += 1;
    return items;
  }

  #inlineTable(): TomlTable {
    this.#at += 1;
    const table: TomlTable = {};
    this.#skipSpaces();
    while (this.#text[this.#at] !== "}") {
      this.#keyValue(table);
      this.#skipSpaces();
      if (this.#text[this.#at] === ",") this.#at += 1;
      else if (this.#text[this.#at] !== "}") this.#fail("expected , or } in an inline table");
      this.#skipSpaces();
    }
    this.#at += 1;
    return table;
  }

  #string(): string {
    const quote = this.#text[this.#at] as string;
    const multi = this.#text.startsWith(quote.repeat(3), this.#at);
    const end = multi ? quote.repeat(3) : quote;
    this.#at += end.length;
    if (multi && this.#text[this.#at] === "\n") this.#at += 1;
    let out = "";
    for (;;) {
      if (this.#at >= this.#text.length) this.#fail("a string is not closed");
      if (this.#text.startsWith(end, this.#at)) {
        this.#at += end.length;
        return out;
      }
      const c = this.#text[this.#at] as string;
      if (c === "\n" && !multi) this.#fail("a string runs past the end of its line");
      if (c === "\\" && quote === '"') {
        out += this.#escape();
        continue;
      }
      out += c;
      this.#at += 1;
    }
  }

  #escape(): string {
    const c = this.#text[this.#at + 1];
    this.#at += 2;
    const simple: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r" };
    if (c === '"' || c === "\\") return c;
    if (c !== undefined && c in simple) return simple[c] as string;
    if (c === "u" || c === "U") {
      const digits = this.#text.slice(this.#at, this.#at + (c === "u" ? 4 : 8));
      if (!/^[0-9a-fA-F]+$/.test(digits)) this.#fail("bad unicode escape");
      this.#at += digits.length;
      return String.fromCodePoint(Number.parseInt(digits, 16));
    }
    if (c === "\n" || c === " " || c === "\r") {
      // A line-ending backslash in a multi-line string trims the break and what follows.
      this.#skipBlank(false);
      return "";
    }
    return this.#fail(`unknown escape \\${c}`);
  }

  #skipSpaces(): void {
    while (this.#text[this.#at] === " " || this.#text[this.#at] === "\t") this.#at += 1;
  }

  /** Spaces, line breaks and (with `comments`) comments. */
  #skipBlank(comments: boolean): void {
    for (;;) {
      const c = this.#text[this.#at];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.#at += 1;
      else if (c === "#" && comments) {
        const next = this.#text.indexOf("\n", this.#at);
        this.#at = next === -1 ? this.#text.length : next;
      } else return;
    }
  }

  #endOfLine(): void {
    this.#skipSpaces();
    if (this.#text[this.#at] === "#") {
      const next = this.#text.indexOf("\n", this.#at);
      this.#at = next === -1 ? this.#text.length : next;
    }
    if (this.#text[this.#at] === "\r") this.#at += 1;
    if (this.#at < this.#text.length && this.#text[this.#at] !== "\n")
      this.#fail("expected the end of the line");
  }

  #expect(token: string): void {
    this.#skipSpaces();
    if (!this.#text.startsWith(token, this.#at)) this.#fail(`expected ${token}`);
    this.#at += token.length;
  }

  #fail(why: string): never {
    const line = this.#text.slice(0, this.#at).split("\n").length;
    throw new FedbridgeError(Code.InvalidArgument, `${this.#label} line ${line}: ${why}`);
  }
}
