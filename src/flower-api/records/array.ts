import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  decodeNpy,
  encodeNpy,
  isNumericDtype,
  type NpyValueBytes,
  NUMERIC_DTYPES,
  NUMPY_STYPE,
  type NumericDtype,
  type NumericTypedArray,
  npyValueBytes,
} from "../../core/numeric/npy.ts";

/** Throws unless `shape` holds exactly `length` values. */
export function checkShapeFits(shape: readonly number[], length: number): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `shape [${shape.join(", ")}] does not fit ${length} values`,
    );
}

export interface ArrayInit {
  /** Element type, numpy's name for it (`float32`, `int64`, ...). */
  dtype: string;
  shape: readonly number[];
  /** How `data` is serialized; `numpy.ndarray` means NPY bytes. */
  stype: string;
  data: Uint8Array;
}

/** The minimal tfjs tensor surface we use, so this layer does not depend on tfjs. */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  dataSync(): ArrayLike<number> & ArrayBufferView;
}

/** A factory of tensors, such as the `tf` namespace of `@tensorflow/tfjs`. */
export interface TensorFactory<T> {
  tensor(
    values: Float32Array | Int32Array | Uint8Array,
    shape: number[],
    dtype?: "float32" | "int32" | "bool",
  ): T;
}

const TYPED_TO_DTYPE = new Map<unknown, NumericDtype>([
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int8Array, "int8"],
  [Int16Array, "int16"],
  [Int32Array, "int32"],
  [BigInt64Array, "int64"],
  [Uint8Array, "uint8"],
  [Uint16Array, "uint16"],
  [Uint32Array, "uint32"],
  [BigUint64Array, "uint64"],
]);

/**
 * One array of a model: dtype, shape, stype and serialized bytes, as Flower 1.28's `Array`.
 * Numeric arrays follow Flower's convention (stype `numpy.ndarray`, NPY bytes), so they
 * travel to and from Python nodes unchanged.
 *
 * @example
 * const w = FlowerArray.fromTypedArray(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * w.toTypedArray(); // Float32Array [1, 2, 3, 4]
 */
export class FlowerArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly stype: string;
  readonly data: Uint8Array;

  constructor(init: ArrayInit) {
    this.dtype = init.dtype;
    this.shape = Object.freeze([...init.shape]);
    this.stype = init.stype;
    this.data = init.data;
  }

  /** Serializes a typed array (1-D unless `shape` says otherwise) in Flower's NPY convention. */
  static fromTypedArray(
    values: NumericTypedArray,
    shape: readonly number[] = [values.length],
  ): FlowerArray {
    const dtype = TYPED_TO_DTYPE.get(values.constructor);
    if (dtype === undefined)
      throw new FedbridgeError(Code.InvalidArgument, "unsupported typed array type");
    checkShapeFits(shape, values.length);
    return new FlowerArray({
      dtype,
      shape,
      stype: NUMPY_STYPE,
      data: encodeNpy(dtype, shape, values),
    });
  }

  /** Serializes a tfjs tensor (float32, int32 or bool). */
  static fromTensor(tensor: TensorLike): FlowerArray {
    const values = tensor.dataSync();
    if (tensor.dtype === "bool") {
      const data = encodeNpy("bool", tensor.shape, Uint8Array.from(values));
      return new FlowerArray({ dtype: "bool", shape: tensor.shape, stype: NUMPY_STYPE, data });
    }
    return FlowerArray.fromTypedArray(values as NumericTypedArray, tensor.shape);
  }

  /** The values, a view on `data` where alignment allows. Only for numeric NPY arrays. */
  toTypedArray(): NumericTypedArray {
    this.#checkNumeric();
    return decodeNpy(this.data).values;
  }

  /**
   * The values' little-endian bytes and their dtype (the NPY header's), a view on `data` at
   * whatever alignment: for a kernel that reads bytes. Only for numeric NPY arrays.
   */
  valueBytes(): NpyValueBytes {
    this.#checkNumeric();
    return npyValueBytes(this.data);
  }

  #checkNumeric(): void {
    if (this.stype !== NUMPY_STYPE || !isNumericDtype(this.dtype)) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `array of dtype '${this.dtype}' and stype '${this.stype}' has no typed-array form`,
      );
    }
  }

  /** The values as a tensor of `tf` (float32 stays float32; other ints become int32). */
  toTensor<T>(tf: TensorFactory<T>): T {
    const values = this.toTypedArray();
    const shape = [...this.shape];
    if (values instanceof Float32Array) return tf.tensor(values, shape, "float32");
    if (this.dtype === "bool")
      return tf.tensor(Uint8Array.from(values as Uint8Array), shape, "bool");
    if (values instanceof Float64Array)
      return tf.tensor(Float32Array.from(values), shape, "float32");
    return tf.tensor(Int32Array.from(values as ArrayLike<number>, Number), shape, "int32");
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes of serialized data. */
  get numbytes(): number {
    return this.data.byteLength;
  }
}

export { NUMERIC_DTYPES };
