/**
 * GraphBuilder: records ONNX nodes on typed, shaped values and emits a `ModelProto` through the
 * generated `@bufbuild/protobuf` types. Its node list doubles as the autodiff tape.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "@parlmt/gen/onnx/onnx_pb.ts";
import { type DType, ONNX_DTYPE } from "./dtype.ts";
import { type Dim, formatShape, type Shape } from "./shape.ts";
import { type HostTensor, tensorBytes } from "./tensor.ts";

/** ONNX default-domain opset the project targets (Gelu and Split `num_outputs` need ≥ 20/18). */
export const OPSET = 20;
/** ONNX IR version the project emits. */
export const IR_VERSION = 9;

/** A typed attribute value (ONNX distinguishes INT from FLOAT, so numbers are tagged). */
export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "tensor"; readonly value: HostTensor };

/** Attribute map of one node, keyed by ONNX attribute name. */
export type Attrs = Readonly<Record<string, Attr>>;

/** A named, typed, shaped value of a graph: a graph input, initializer or node output. */
export class Value {
  readonly graph: GraphBuilder;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  constructor(graph: GraphBuilder, name: string, dtype: DType, shape: Shape) {
    this.graph = graph;
    this.name = name;
    this.dtype = dtype;
    this.shape = [...shape];
  }
  /** Rank (number of dimensions). */
  get rank(): number {
    return this.shape.length;
  }
  /** `name: dtype[dims]`, for error messages. */
  toString(): string {
    return `"${this.name}": ${this.dtype}${formatShape(this.shape)}`;
  }
}

/** One recorded node: the tape entry autodiff walks backwards. */
export interface NodeRecord {
  readonly opType: string;
  readonly domain: string;
  /** Inputs in ONNX order; `null` = omitted optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

/** Output spec for `GraphBuilder.node`: dtype and static shape of one output. */
export interface OutputSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * Ops whose trailing outputs are optional, with the number of outputs they always have: toModel()
 * leaves out trailing outputs nothing reads, so the kernel skips them (LayerNormalization then
 * writes no Mean/InvStdDev in inference graphs).
 */
const REQUIRED_OUTPUTS: Readonly<Record<string, number>> = { LayerNormalization: 1 };

/** Records nodes and emits an ONNX model. */
export class GraphBuilder {
  /** Nodes in creation order, which is a topological order. */
  readonly nodes: NodeRecord[] = [];
  readonly name: string;
  #inputs: Value[] = [];
  #outputs: Value[] = [];
  #initializers = new Map<string, HostTensor>();
  #names = new Set<string>();
  #counter = 0;
  #scope: string[] = [];
  #constCache = new Map<string, Value>();

  constructor(name = "graph") {
    this.name = name;
  }

  /** Graph inputs, in declaration order. */
  get inputs(): readonly Value[] {
    return this.#inputs;
  }

  /** Graph outputs, in declaration order. */
  get outputs(): readonly Value[] {
    return this.#outputs;
  }

  /** Declares a graph input. */
  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.#claim(name), dtype, shape);
    this.#inputs.push(v);
    return v;
  }

  /** Adds a constant tensor as an initializer. */
  initializer(name: string, t: HostTensor): Value {
    const v = new Value(this, this.#claim(name), t.dtype, t.dims);
    this.#initializers.set(v.name, t);
    return v;
  }

  /** A constant (an unnamed initializer); small constants with equal content are shared. */
  constant(t: HostTensor): Value {
    const key = t.data.length <= 16
      ? `${t.dtype}[${t.dims.join(",")}]${Array.from(t.data as ArrayLike<unknown>).join(",")}`
      : undefined;
    const hit = key === undefined ? undefined : this.#constCache.get(key);
    if (hit) return hit;
    const v = this.initializer(this.fresh("const"), t);
    if (key !== undefined) this.#constCache.set(key, v);
    return v;
  }

  /** The tensor behind a constant/initializer value, or `undefined` for computed values. */
  constantValue(v: Value): HostTensor | undefined {
    return this.#initializers.get(v.name);
  }

  /**
   * Marks `value` as a graph output named `name`. A computed value is renamed in place; an
   * input, initializer or value already output gets an Identity node.
   */
  output(value: Value, name = value.name): Value {
    let v = value;
    if (v.name !== name && !this.#outputs.includes(v) && !this.#isInput(v)) {
      // Rename the computed value itself: no Identity node, no copy at run time.
      this.#names.delete(v.name);
      (v as { name: string }).name = this.#claim(name);
    } else if (v.name !== name || this.#outputs.includes(v) || this.#isInput(v)) {
      [v] = this.node("Identity", [value], [{ dtype: value.dtype, shape: value.shape }], {}, [
        name,
      ]);
    }
    this.#outputs.push(v!);
    return v!;
  }

  /** Runs `fn` with `prefix` prepended to generated value names (readable graphs). */
  scope<T>(prefix: string, fn: () => T): T {
    this.#scope.push(prefix);
    try {
      return fn();
    } finally {
      this.#scope.pop();
    }
  }

  /** A fresh value name `<scope>/<base>_<n>`. */
  fresh(base: string): string {
    const prefix = this.#scope.length ? this.#scope.join("/") + "/" : "";
    let name: string;
    do name = `${prefix}${base}_${this.#counter++}`; while (this.#names.has(name));
    return name;
  }

  /** Appends a node and returns its outputs (low level; ops.ts wraps every op). */
  node(
    opType: string,
    inputs: readonly (Value | null)[],
    outputs: readonly OutputSpec[],
    attrs: Attrs = {},
    outputNames?: readonly string[],
    domain = "",
  ): Value[] {
    for (const x of inputs) {
      if (x && x.graph !== this) {
        throw new TypeError(`Cannot add ${opType}: input ${x} belongs to another graph`);
      }
    }
    const outs = outputs.map((o, i) =>
      new Value(this, this.#claim(outputNames?.[i] ?? this.fresh(opType)), o.dtype, o.shape)
    );
    this.nodes.push({ opType, domain, inputs: [...inputs], outputs: outs, attrs });
    return outs;
  }

  /** The model as a generated `ModelProto` message. */
  toModel(metadata: Readonly<Record<string, string>> = {}): ModelProto {
    // Initializers no node reads (e.g. constants a fused op replaced) are left out.
    const used = new Set<string>(this.#outputs.map((v) => v.name));
    for (const n of this.nodes) for (const x of n.inputs) if (x) used.add(x.name);
    const graph = create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes.map((n, i) =>
        create(NodeProtoSchema, {
          name: `${n.opType}_${i}`,
          opType: n.opType,
          domain: n.domain,
          input: n.inputs.map((x) => x?.name ?? ""),
          output: usedOutputs(n, used).map((x) => x.name),
          attribute: Object.entries(n.attrs).map(([k, a]) => attrProto(k, a)),
        })
      ),
      initializer: [...this.#initializers].filter(([name]) => used.has(name)).map(([name, t]) =>
        tensorProto(name, t)
      ),
      input: this.#inputs.map(valueInfo),
      output: this.#outputs.map(valueInfo),
    });
    return create(ModelProtoSchema, {
      irVersion: BigInt(IR_VERSION),
      opsetImport: [
        create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(OPSET) }),
        create(OperatorSetIdProtoSchema, { domain: "com.microsoft", version: 1n }),
      ],
      producerName: "parlmt",
      graph,
      metadataProps: Object.entries(metadata).map(([key, value]) =>
        create(StringStringEntryProtoSchema, { key, value })
      ),
    });
  }

  /** The serialized model, ready for an onnxruntime session. */
  toBytes(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    return toBinary(ModelProtoSchema, this.toModel(metadata));
  }

  #claim(name: string): string {
    if (this.#names.has(name)) {
      throw new RangeError(`Cannot name value "${name}": the name is already used in the graph`);
    }
    this.#names.add(name);
    return name;
  }

  #isInput(v: Value): boolean {
    return this.#inputs.includes(v) || this.#initializers.has(v.name);
  }
}

/** The outputs of `n` to emit: all, less trailing optional ones that no name in `used` reads. */
function usedOutputs(n: NodeRecord, used: ReadonlySet<string>): readonly Value[] {
  const required = n.domain === "" ? REQUIRED_OUTPUTS[n.opType] : undefined;
  if (required === undefined) return n.outputs;
  let end = n.outputs.length;
  while (end > required && !used.has(n.outputs[end - 1]!.name)) end--;
  return n.outputs.slice(0, end);
}

/** An ONNX TensorProto with little-endian `raw_data`. */
export function tensorProto(name: string, t: HostTensor): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dims: t.dims.map((d) => BigInt(d)),
    dataType: ONNX_DTYPE[t.dtype],
    rawData: tensorBytes(t),
  });
}

function attrProto(name: string, a: Attr): AttributeProto {
  switch (a.kind) {
    case "int":
      return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(a.value) });
    case "float":
      return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: a.value });
    case "string":
      return create(AttributeProtoSchema, {
        name,
        type: AttrType.STRING,
        s: new TextEncoder().encode(a.value),
      });
    case "ints":
      return create(AttributeProtoSchema, {
        name,
        type: AttrType.INTS,
        ints: a.value.map((v) => BigInt(v)),
      });
    case "floats":
      return create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: [...a.value] });
    case "tensor":
      return create(AttributeProtoSchema, {
        name,
        type: AttrType.TENSOR,
        t: tensorProto("", a.value),
      });
  }
}

function valueInfo(v: Value): ValueInfoProto {
  const dims = v.shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === "number"
        ? { case: "dimValue", value: BigInt(d) }
        : { case: "dimParam", value: d },
    })
  );
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, {
          elemType: ONNX_DTYPE[v.dtype],
          shape: create(TensorShapeProtoSchema, { dim: dims }),
        }),
      },
    }),
  });
}

/** Tagged attribute constructors. */
export const attr = {
  int: (value: number): Attr => ({ kind: "int", value }),
  float: (value: number): Attr => ({ kind: "float", value }),
  string: (value: string): Attr => ({ kind: "string", value }),
  ints: (value: readonly number[]): Attr => ({ kind: "ints", value }),
  floats: (value: readonly number[]): Attr => ({ kind: "floats", value }),
  tensor: (value: HostTensor): Attr => ({ kind: "tensor", value }),
} as const;
