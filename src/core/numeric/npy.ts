import { copyBytes } from "../copy-bytes.ts";
import { Code, FedbridgeError } from "../fedbridge-error.ts";

/**
 * The NPY format (numpy.save / numpy.load), version 1.0, little-endian, C order: Flower's
 * convention for the bytes of a numeric Array, so a Python node reads ours with numpy.load.
 * We write exactly what numpy writes, so array bytes (and object ids) match Python's.
 */

/** The stype Flower gives arrays whose data is NPY bytes (numpy arrays). */
export const NUMPY_STYPE = "numpy.ndarray";

/** The numeric dtypes, by numpy name, with their NPY descriptor and typed array. */
export const NUMERIC_DTYPES = {
  float32: { descr: "<f4", typed: Float32Array },
  float64: { descr: "<f8", typed: Float64Array },
  int8: { descr: "|i1", typed: Int8Array },
  int16: { descr: "<i2", typed: Int16Array },
  int32: { descr: "<i4", typed: Int32Array },
  int64: { descr: "<i8", typed: BigInt64Array },
  uint8: { descr: "|u1", typed: Uint8Array },
  uint16: { descr: "<u2", typed: Uint16Array },
  uint32: { descr: "<u4", typed: Uint32Array },
  uint64: { descr: "<u8", typed: BigUint64Array },
  bool: { descr: "|b1", typed: Uint8Array },
} as const;

export type NumericDtype = keyof typeof NUMERIC_DTYPES;
export type NumericTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREAMBLE = MAGIC.length + 4; // magic, version (2 bytes), header length (uint16)
const ALIGN = 64; // numpy pads the header so the data starts on a 64-byte boundary

/** Where new NPY bytes live (see npyInSharedMemory). */
let newBytes = (length: number): Uint8Array => new Uint8Array(length);

/** NPY bytes in shared memory past which they get pages of their own (npyInSharedMemory). */
export const OWN_PAGES_MIN_BYTES = 2 ** 20;

/**
 * NPY bytes made from now on in this thread live in memory shared with other threads: a
 * ClientApp thread's reply then reaches its node's main thread without a copy, and its arrays
 * stay the app's too (arrays are not changed once made, so sharing them is safe).
 *
 * A shared buffer comes from malloc. Where malloc is tuned to keep what is freed, in one heap
 * for all threads (core/malloc-tuning.mjs), the next round reuses it: 1 GB rounds 6.7 → 5.2–5.3
 * s, a node's peak 3,330 → 3,180 MB (bench vs-flower, ours alone). Untuned, each thread's heap
 * keeps its own (a node's peak was 4.9 GB over three 1 GB rounds), so `ownPages` puts large
 * ones in growable buffers that never grow: V8 maps their pages on their own and unmaps them
 * once they are freed (3.2 GB).
 */
export function npyInSharedMemory({ ownPages }: { ownPages: boolean }): void {
  newBytes = (length) =>
    new Uint8Array(
      new SharedArrayBuffer(
        length,
        ownPages && length >= OWN_PAGES_MIN_BYTES ? { maxByteLength: length } : undefined,
      ),
    );
}

export function isNumericDtype(dtype: string): dtype is NumericDtype {
  return Object.hasOwn(NUMERIC_DTYPES, dtype);
}

/** Encodes values of `dtype` and `shape` as the bytes `numpy.save` would write. */
export function encodeNpy(
  dtype: NumericDtype,
  shape: readonly number[],
  values: ArrayBufferView,
): Uint8Array {
  const { bytes, dataStart } = allocateNpy(dtype, shape);
  // memcpy: `bytes` may be shared memory (npyInSharedMemory), which `set` copies word by word.
  copyBytes(bytes, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), dataStart);
  return bytes;
}

/**
 * The bytes of an NPY array of `dtype` and `shape`, values zero, to fill in place (the values
 * start at `dataStart`, a multiple of 64): a large array is built without a second copy.
 */
export function allocateNpy(
  dtype: NumericDtype,
  shape: readonly number[],
): { bytes: Uint8Array; dataStart: number } {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${NUMERIC_DTYPES[dtype].descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const headerLength = Math.ceil((PREAMBLE + dict.length + 1) / ALIGN) * ALIGN - PREAMBLE;
  const header = `${dict.padEnd(headerLength - 1, " ")}\n`;
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = PREAMBLE + headerLength;
  const bytes = newBytes(dataStart + count * NUMERIC_DTYPES[dtype].typed.BYTES_PER_ELEMENT);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // version 1.0
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, headerLength, true);
  for (let i = 0; i < header.length; i++) bytes[PREAMBLE + i] = header.charCodeAt(i);
  return { bytes, dataStart };
}

/**
 * A float32 NPY array of zeros and the view to fill it through: a large array (a model, a sum)
 * is built in place, without encoding a copy of it afterwards.
 */
export function zerosFloat32Npy(shape: readonly number[]): {
  bytes: Uint8Array;
  values: Float32Array;
} {
  const { bytes, dataStart } = allocateNpy("float32", shape);
  return {
    bytes,
    values: new Float32Array(bytes.buffer, dataStart, (bytes.length - dataStart) / 4),
  };
}

export interface DecodedNpy {
  dtype: NumericDtype;
  shape: number[];
  /** A view on `bytes` where the alignment allows, else a copy. */
  values: NumericTypedArray;
}

/** Where an NPY array's values start in its bytes, and what they are. */
export interface NpyHeader {
  dtype: NumericDtype;
  shape: number[];
  /** Offset of the first value. */
  dataStart: number;
}

/**
 * Reads the header of NPY bytes (versions 1–3, little-endian, C order); `bytes` may be just
 * the start of the array, as long as it holds the whole header.
 */
export function decodeNpyHeader(bytes: Uint8Array): NpyHeader {
  const fail = (why: string) =>
    new FedbridgeError(Code.InvalidArgument, `invalid NPY data: ${why}`);
  if (bytes.length < PREAMBLE || MAGIC.some((b, i) => bytes[i] !== b))
    throw fail("no \\x93NUMPY magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const lengthSize = major === 1 ? 2 : 4;
  const headerLength = lengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthSize + headerLength;
  if (dataStart > bytes.length) throw fail("header longer than the data");
  const header = new TextDecoder().decode(bytes.subarray(8 + lengthSize, dataStart));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw fail(`bad header ${header.trim()}`);
  if (fortran === "True") throw fail("Fortran order is not supported");
  const dtype = (Object.keys(NUMERIC_DTYPES) as NumericDtype[]).find(
    (d) => NUMERIC_DTYPES[d].descr === descr,
  );
  if (dtype === undefined) throw fail(`unsupported dtype descriptor '${descr}'`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  return { dtype, shape, dataStart };
}

/** NPY bytes' values as bytes: a view, whatever their alignment. */
export interface NpyValueBytes {
  dtype: NumericDtype;
  shape: number[];
  /** The values' little-endian bytes, a view on the NPY bytes. */
  values: Uint8Array;
}

/**
 * The values of NPY bytes (versions 1–3, little-endian, C order) as a view on their bytes, checked
 * against the header's shape. Unlike decodeNpy it never copies: a kernel that reads bytes (the
 * FedAvg sum) takes a received array where it lies, at any alignment.
 */
export function npyValueBytes(bytes: Uint8Array): NpyValueBytes {
  const { dtype, shape, dataStart } = decodeNpyHeader(bytes);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * NUMERIC_DTYPES[dtype].typed.BYTES_PER_ELEMENT;
  if (dataStart + byteLength !== bytes.length) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `invalid NPY data: shape (${shape.join(", ")}) needs ${byteLength} data bytes, found ${bytes.length - dataStart}`,
    );
  }
  return { dtype, shape, values: bytes.subarray(dataStart) };
}

/** Decodes NPY bytes (versions 1–3, little-endian, C order). */
export function decodeNpy(bytes: Uint8Array): DecodedNpy {
  const { dtype, shape, values: valueBytes } = npyValueBytes(bytes);
  const Typed = NUMERIC_DTYPES[dtype].typed;
  const count = valueBytes.byteLength / Typed.BYTES_PER_ELEMENT;
  const offset = valueBytes.byteOffset;
  if (offset % Typed.BYTES_PER_ELEMENT === 0)
    return { dtype, shape, values: new Typed(bytes.buffer as ArrayBuffer, offset, count) };
  // Misaligned: copy into a buffer of its own. (Not `bytes.slice`: on a Node Buffer, slice is a
  // view that shares the whole pool, so its `.buffer` would start somewhere else.)
  const copy = new Uint8Array(valueBytes);
  return { dtype, shape, values: new Typed(copy.buffer, 0, count) };
}
