/**
 * safetensors: 8-byte little-endian header length, a JSON header mapping tensor names to
 * `{dtype, shape, data_offsets}` plus an optional `__metadata__` string map, then the raw
 * little-endian tensor bytes. https://github.com/huggingface/safetensors
 */
import { type DType, DTYPE_BYTES, type HostTensor, hostTensor, tensorBytes } from "@parlmt/onnx";

/** safetensors dtype names of the dtypes we store. */
const ST_DTYPE: Readonly<Record<DType, string>> = {
  float32: "F32",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  bool: "BOOL",
  uint8: "U8",
};

/** Largest header we accept when reading (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Tensors and string metadata of one safetensors file. */
export interface SafeTensors {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

/** Serializes tensors (sorted by name) and metadata. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new RangeError(`Cannot store a tensor named "${name}"`);
    const t = tensors.get(name)!;
    const size = t.data.byteLength;
    header[name] = {
      dtype: ST_DTYPE[t.dtype],
      shape: t.dims,
      data_offsets: [offset, offset + size],
    };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // pad with spaces to 8-byte alignment
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const bytes = tensorBytes(tensors.get(name)!);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** Parses a safetensors file, throwing a `SyntaxError` naming what is malformed. */
export function decodeSafetensors(bytes: Uint8Array): SafeTensors {
  if (bytes.length < 8) throw new SyntaxError(`Cannot read safetensors: ${bytes.length} bytes`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || 8 + n > bytes.length) {
    throw new SyntaxError(`Cannot read safetensors: header length ${n} exceeds the file`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new SyntaxError("Cannot read safetensors: header is not JSON", { cause: err });
  }
  const data = bytes.subarray(8 + n);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new SyntaxError(`Cannot read safetensors: metadata "${k}"`);
  }
  const tensors = new Map<string, HostTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: off } = info as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    const dt = (Object.keys(ST_DTYPE) as DType[]).find((k) => ST_DTYPE[k] === dtype);
    if (!dt) throw new SyntaxError(`Cannot read safetensors tensor "${name}": dtype "${dtype}"`);
    const size = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dt];
    if (!Array.isArray(off) || off[1] - off[0] !== size || off[0] < 0 || off[1] > data.length) {
      throw new SyntaxError(`Cannot read safetensors tensor "${name}": bad data_offsets`);
    }
    const copy = data.slice(off[0], off[1]); // aligned copy
    const t = hostTensor(dt, shape);
    new Uint8Array(t.data.buffer).set(copy);
    tensors.set(name, t);
  }
  return { tensors, metadata };
}
