/** Host tensors: a dtype, dims and a typed array, the plain data type shared by all packages. */
import { allocTyped, type DType, type TypedArray } from "./dtype.ts";

/** A dense tensor in host memory, row-major. */
export interface HostTensor {
  /** Element type. */
  readonly dtype: DType;
  /** Dimensions, outermost first. */
  readonly dims: readonly number[];
  /** Elements, row-major; length is the product of `dims`. */
  readonly data: TypedArray;
}

/** Creates a host tensor, checking that `data` matches `dims`. */
export function hostTensor(dtype: DType, dims: readonly number[], data?: TypedArray): HostTensor {
  const size = dims.reduce((a, b) => a * b, 1);
  const d = data ?? allocTyped(dtype, size);
  if (d.length !== size) {
    throw new RangeError(
      `Cannot create tensor of dims [${
        dims.join(", ")
      }]: data has ${d.length} elements, need ${size}`,
    );
  }
  return { dtype, dims: [...dims], data: d };
}

/** A float32 tensor from numbers. */
export function float32(dims: readonly number[], values: ArrayLike<number>): HostTensor {
  return hostTensor("float32", dims, Float32Array.from(values));
}

/** An int64 tensor from numbers. */
export function int64(dims: readonly number[], values: ArrayLike<number>): HostTensor {
  return hostTensor("int64", dims, BigInt64Array.from(Array.from(values, (v) => BigInt(v))));
}

/** Little-endian bytes of a tensor's elements (ONNX `raw_data`, safetensors payload). */
export function tensorBytes(t: HostTensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
}
