/** A TOML basic string: JSON's escapes are TOML's, plus DEL and lone surrogates, which TOML bans. */
export function tomlString(value: string): string {
  const wellFormed = value.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
  return JSON.stringify(wellFormed).replace(/\x7f/g, "\\u007f");
}

/** Safe integers as TOML integers, other numbers as floats: Flower's int/float rule. */
export function tomlValue(value: string | number | boolean): string {
  if (typeof value === "string") return tomlString(value);
  if (typeof value === "boolean") return String(value);
  if (Number.isSafeInteger(value)) return String(value);
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}
