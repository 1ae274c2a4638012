/**
 * A protobuf message kept in a file with its large bytes fields apart: `header` (the message
 * encoded with those fields empty) and each field's bytes, every part starting at a multiple of
 * 8, so that read back the bytes are views of one buffer at an alignment any typed array takes.
 * Written and read past the page cache (direct-file.ts): such files hold models.
 *
 * Layout: u32 header length, u32 part count, f64 length of each part, the header, the parts,
 * each followed by zeros up to a multiple of 8.
 */
import { readFileDirect, writeWhole } from "./direct-file.ts";
import { Code, FedbridgeError } from "./fedbridge-error.ts";

const ALIGN = 8;
const ZEROS = new Uint8Array(ALIGN);

export interface Parts {
  header: Uint8Array;
  parts: Uint8Array[];
}

/** Writes `header` and `parts` to `path`, from where they lie (nothing joined in memory). */
export async function writePartsFile(path: string, { header, parts }: Parts): Promise<void> {
  const lengths = new Uint8Array(8 + 8 * parts.length);
  const view = new DataView(lengths.buffer);
  view.setUint32(0, header.byteLength, true);
  view.setUint32(4, parts.length, true);
  for (const [i, part] of parts.entries()) view.setFloat64(8 + 8 * i, part.byteLength, true);
  await writeWhole(path, [lengths, ...[header, ...parts].flatMap((p) => [p, padding(p)])]);
}

/** What `writePartsFile` wrote at `path`: views of one buffer. */
export async function readPartsFile(path: string): Promise<Parts> {
  const bytes = await readFileDirect(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cutShort = () => new FedbridgeError(Code.DataLoss, `${path} is cut short`);
  if (bytes.byteLength < 8) throw cutShort();
  const count = view.getUint32(4, true);
  let at = 8 + 8 * count;
  if (at > bytes.byteLength) throw cutShort();
  const next = (length: number) => {
    if (at + length > bytes.byteLength) throw cutShort();
    const part = bytes.subarray(at, at + length);
    at += length + padding(part).byteLength;
    return part;
  };
  const header = next(view.getUint32(0, true));
  const parts = Array.from({ length: count }, (_, i) => next(view.getFloat64(8 + 8 * i, true)));
  return { header, parts };
}

function padding(part: Uint8Array): Uint8Array {
  return ZEROS.subarray(0, (ALIGN - (part.byteLength % ALIGN)) % ALIGN);
}
