/**
 * JSON exactly as Python's `json.dumps` writes it with default settings (separators ", "
 * and ": ", ensure_ascii), so the bodies of Flower objects, and therefore their SHA-256
 * ids, are byte-identical to what Flower computes. Only what object bodies hold:
 * strings, integers, lists, and string-keyed objects or Maps. A Map keeps its insertion
 * order, as a Python dict does; a plain object would put integer-like keys first.
 */
export function pythonJson(value: unknown): string {
  if (typeof value === "string") return pythonString(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value))
      throw new TypeError(`pythonJson writes integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => `${pythonString(String(k))}: ${pythonJson(v)}`);
    return `{${entries.join(", ")}}`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${pythonString(k)}: ${pythonJson(v)}`);
    return `{${entries.join(", ")}}`;
  }
  throw new TypeError(`pythonJson cannot write ${typeof value}`);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** Printable ASCII other than `"` and `\\`: written as is (ids, names, dtypes). */
const PLAIN = /^[ !#-[\]-~]*$/;

function pythonString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = text.charCodeAt(i); // UTF-16 units: surrogate pairs come out as two escapes
    if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
