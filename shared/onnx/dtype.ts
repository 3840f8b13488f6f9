/** Element types the project's graphs use, and their ONNX `TensorProto.DataType` codes. */

/** A tensor element type, named as onnxruntime-node names it. */
export type DType = "float32" | "float64" | "int64" | "int32" | "bool" | "uint8";

/** A typed array holding elements of some `DType`. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Uint8Array;

/** ONNX `TensorProto.DataType` code of each dtype. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

/** Size in bytes of one element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  int64: 8,
  int32: 4,
  bool: 1,
  uint8: 1,
};

/** Whether gradients can flow through values of this dtype. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** Allocates a zero-filled typed array of `size` elements of `dtype`. */
export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int64":
      return new BigInt64Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
    case "uint8":
      return new Uint8Array(size);
  }
}

/** The dtype of an ONNX `TensorProto.DataType` code. */
export function dtypeFromOnnx(code: number): DType {
  for (const [name, value] of Object.entries(ONNX_DTYPE)) {
    if (value === code) return name as DType;
  }
  throw new RangeError(`Cannot map ONNX data type ${code}: unsupported`);
}
