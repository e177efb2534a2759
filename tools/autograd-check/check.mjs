// Checks Swim's sensitivity file against TensorFlow.js running the same ONNX graph: the gradient of the mean
// softmax cross-entropy from TF.js autograd, and the OBD diagonal from an implementation written here with
// TF.js's own vector-Jacobian products (each node's derivative taken on squared inputs or squared weights, as
// OBD prescribes). The graph is interpreted node by node, so any classifier made of the operators below can be
// checked, whoever exported it. Usage: node check.mjs MODEL.onnx DATA.npz SENS.npz SAMPLES
import fs from 'node:fs';
import zlib from 'node:zlib';
import tf from '@tensorflow/tfjs';

await tf.setBackend('cpu');
const [modelPath, dataPath, sensitivityPath, samplesText] = process.argv.slice(2);
if (!sensitivityPath) {
  console.error('usage: node check.mjs MODEL.onnx DATA.npz SENS.npz SAMPLES');
  process.exit(2);
}
const samples = Number(samplesText ?? 256);

// --- protobuf: just enough of ONNX's ModelProto to read the graph ------------------------------------------
function* fields(buffer, start = 0, end = buffer.length) {
  let at = start;
  const varint = () => {
    let value = 0n, shift = 0n, byte;
    do { byte = buffer[at++]; value |= BigInt(byte & 0x7f) << shift; shift += 7n; } while (byte & 0x80);
    return value;
  };
  while (at < end) {
    const key = Number(varint());
    const number = key >>> 3, wire = key & 7;
    if (wire === 0) yield { number, wire, value: varint() };
    else if (wire === 1) { yield { number, wire, bytes: buffer.subarray(at, at + 8) }; at += 8; }
    else if (wire === 2) { const length = Number(varint()); yield { number, wire, bytes: buffer.subarray(at, at + length) }; at += length; }
    else if (wire === 5) { yield { number, wire, bytes: buffer.subarray(at, at + 4) }; at += 4; }
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

const text = bytes => Buffer.from(bytes).toString('utf8');
const int64 = v => Number(BigInt.asIntN(64, v));

// The graph: float initializers, nodes with their attributes, and the first input that is not an initializer.
function readGraph(path) {
  const model = fs.readFileSync(path);
  const initializers = new Map(), nodes = [], inputs = [];
  for (const f of fields(model)) {
    if (f.number !== 7) continue; // ModelProto.graph
    for (const g of fields(f.bytes)) {
      if (g.number === 1) nodes.push(readNode(g.bytes));
      else if (g.number === 5) {
        const t = readTensor(g.bytes);
        if (t) initializers.set(t.name, t);
      } else if (g.number === 11) inputs.push(readValueInfo(g.bytes));
    }
  }
  const input = inputs.find(i => !initializers.has(i.name));
  return { initializers, nodes, input, output: nodes.at(-1).outputs[0] };
}

function readTensor(bytes) {
  let name = '', dims = [], type = 0, raw = null, floats = [];
  for (const t of fields(bytes)) {
    if (t.number === 1) {
      if (t.wire === 0) dims.push(int64(t.value));
      else for (const d of fields(t.bytes)) dims.push(int64(d.value));
    } else if (t.number === 2) type = Number(t.value);
    else if (t.number === 8) name = text(t.bytes);
    else if (t.number === 9) raw = t.bytes;
    else if (t.number === 4) {
      if (t.wire === 5) floats.push(Buffer.from(t.bytes).readFloatLE(0));
      else for (let i = 0; i < t.bytes.length; i += 4) floats.push(Buffer.from(t.bytes.subarray(i, i + 4)).readFloatLE(0));
    }
  }
  if (type !== 1) return null; // float only
  return { name, dims, values: raw ? new Float32Array(Uint8Array.from(raw).buffer) : Float32Array.from(floats) };
}

function readNode(bytes) {
  const node = { op: '', inputs: [], outputs: [], attributes: {} };
  for (const n of fields(bytes)) {
    if (n.number === 1) node.inputs.push(text(n.bytes));
    else if (n.number === 2) node.outputs.push(text(n.bytes));
    else if (n.number === 4) node.op = text(n.bytes);
    else if (n.number === 5) {
      let name = '', value = [];
      for (const a of fields(n.bytes)) {
        if (a.number === 1) name = text(a.bytes);
        else if (a.number === 2) value = Buffer.from(a.bytes).readFloatLE(0);
        else if (a.number === 3) value = int64(a.value);
        else if (a.number === 4) value = text(a.bytes);
        else if (a.number === 8) {
          if (a.wire === 0) value.push(int64(a.value));
          else for (const d of fields(a.bytes)) value.push(int64(d.value));
        }
      }
      node.attributes[name] = value;
    }
  }
  return node;
}

function readValueInfo(bytes) {
  let name = '', dims = [];
  for (const v of fields(bytes)) {
    if (v.number === 1) name = text(v.bytes);
    else if (v.number === 2) {
      for (const type of fields(v.bytes)) {             // TypeProto.tensor_type
        if (type.number !== 1) continue;
        for (const tensor of fields(type.bytes)) {      // TypeProto.Tensor.shape
          if (tensor.number !== 2) continue;
          for (const dim of fields(tensor.bytes)) {
            let size = -1;
            for (const d of fields(dim.bytes)) if (d.number === 1) size = int64(d.value);
            dims.push(size);
          }
        }
      }
    }
  }
  return { name, dims };
}

// --- npz: zip central directory, stored or deflated .npy entries ---------------------------------------------
function readNpz(path) {
  const zip = fs.readFileSync(path);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${path} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const arrays = new Map();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28), extra = zip.readUInt16LE(at + 30), comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extra + comment;
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const stored = zip.subarray(dataStart, dataStart + compressed);
    const npy = method === 0 ? stored : zlib.inflateRawSync(stored);
    if (name.endsWith('.npy')) arrays.set(name.slice(0, -4), parseNpy(npy, name));
  }
  return arrays;
}

function parseNpy(buffer, name) {
  const major = buffer[6];
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buffer.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${name}: Fortran order is not supported`);
  const data = Uint8Array.from(buffer.subarray(headerStart + headerLength)).buffer;
  const values = descr === '<f4' ? new Float32Array(data) : descr === '|u1' ? new Uint8Array(data)
    : descr === '<i8' ? Array.from(new BigInt64Array(data), Number) : descr === '<f8' ? new Float64Array(data)
    : (() => { throw new Error(`${name}: dtype ${descr} not supported here`); })();
  return { shape, values };
}

// --- the graph and the first SAMPLES of the data (training split where the file has one), as Swim takes them --
const graph = readGraph(modelPath);
const npz = readNpz(dataPath);
const x = npz.get('x') ?? npz.get('x_train'), y = npz.get('y') ?? npz.get('y_train');
const sampleShape = graph.input.dims.slice(1);
const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
const features = new Float32Array(samples * sampleSize);
for (let i = 0; i < features.length; i++) features[i] = x.values instanceof Uint8Array ? x.values[i] / 255 : x.values[i];
const labels = Array.from({ length: samples }, (_, i) => Number(y.values[i]));

// Activations are kept NHWC (TF.js's CPU kernels); weights stay in ONNX's layout and are rearranged per use.
const toNhwc = t => t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
const toNchw = t => t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
const hwio = w => tf.transpose(w, [2, 3, 1, 0]);                 // O x I x H x W -> H x W x I x O
const input = toNhwc(tf.tensor(features, [samples, ...sampleShape]));
const constants = new Map([...graph.initializers].map(([name, t]) => [name, tf.tensor(t.values, t.dims)]));

const attribute = (node, name, fallback) => node.attributes[name] ?? fallback;
const unsupported = (node, what) => { throw new Error(`${node.op} ${node.outputs[0]}: ${what} is not supported by this check`); };
function geometry(node) {
  if (attribute(node, 'auto_pad', 'NOTSET') !== 'NOTSET') unsupported(node, 'auto_pad');
  const [top, left, bottom, right] = attribute(node, 'pads', [0, 0, 0, 0]);
  return { kernel: attribute(node, 'kernel_shape'), strides: attribute(node, 'strides', [1, 1]), pad: [[0, 0], [top, bottom], [left, right], [0, 0]] };
}
const conv = (node, x, w) => {
  if (attribute(node, 'group', 1) !== 1) unsupported(node, 'group > 1');
  const g = geometry(node);
  return tf.conv2d(x, hwio(w), g.strides, g.pad, 'NHWC', attribute(node, 'dilations', [1, 1]));
};
const maxPool = (node, x) => { const g = geometry(node); return tf.maxPool(tf.pad(x, g.pad, -Infinity), g.kernel, g.strides, 'valid'); };
const averagePool = (node, x) => {
  const g = geometry(node);
  if (g.pad.flat().some(p => p !== 0)) unsupported(node, 'padding');
  return tf.avgPool(x, g.kernel, g.strides, 'valid');
};
const flatten = x => tf.reshape(toNchw(x), [x.shape[0], -1]);   // ONNX flattens C x H x W
const gemm = (node, a, b) => {
  if (attribute(node, 'transA', 0) !== 0 || attribute(node, 'alpha', 1) !== 1 || attribute(node, 'beta', 1) !== 1) unsupported(node, 'transA, alpha or beta');
  return tf.matMul(a, b, false, attribute(node, 'transB', 0) === 1);
};
const batchNormScale = (node, p) => tf.div(p(node.inputs[1]), tf.sqrt(tf.add(p(node.inputs[4]), attribute(node, 'epsilon', 1e-5))));

// One forward pass over the graph; params holds the tensors being differentiated, constants the rest.
function forward(params) {
  const values = new Map([[graph.input.name, input]]);
  const p = name => params[name] ?? constants.get(name);
  const v = name => values.get(name) ?? p(name);
  for (const node of graph.nodes) {
    const [a, b] = node.inputs;
    let out;
    switch (node.op) {
      case 'Conv': out = conv(node, v(a), p(b)); if (node.inputs[2]) out = tf.add(out, p(node.inputs[2])); break;
      case 'BatchNormalization': out = tf.add(tf.mul(tf.sub(v(a), p(node.inputs[3])), batchNormScale(node, p)), p(node.inputs[2])); break;
      case 'Relu': out = tf.relu(v(a)); break;
      case 'Add': out = tf.add(v(a), v(b)); break;
      case 'MaxPool': out = maxPool(node, v(a)); break;
      case 'AveragePool': out = averagePool(node, v(a)); break;
      case 'GlobalAveragePool': out = tf.mean(v(a), [1, 2], true); break;
      case 'Flatten': if (attribute(node, 'axis', 1) !== 1) unsupported(node, 'axis other than 1'); out = flatten(v(a)); break;
      case 'Gemm': out = gemm(node, v(a), p(b)); if (node.inputs[2]) out = tf.add(out, p(node.inputs[2])); break;
      case 'MatMul': out = tf.matMul(v(a), p(b)); break;
      default: unsupported(node, 'the operator');
    }
    values.set(node.outputs[0], out);
  }
  return { values, logits: flatten(values.get(graph.output)) };
}

// --- gradient: TF.js autograd of the mean loss, for every parameter Swim reports ------------------------------
const swim = readNpz(sensitivityPath);
const names = [...swim.keys()].filter(k => k.startsWith('grad/')).map(k => k.slice(5));
const { values, logits } = forward({});
const classes = logits.shape[1];
const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
const meanLoss = params => tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(forward(params).logits)), 1)));
const gradients = tf.grads((...values) => meanLoss(Object.fromEntries(names.map((n, i) => [n, values[i]]))))(names.map(n => constants.get(n)));
const tfGradient = Object.fromEntries(names.map((n, i) => [n, gradients[i]]));

// --- OBD: h at the logits is p (1 - p) / B, carried back node by node in reverse; each node passes h through its
// vector-Jacobian product taken with squared weights (to its input) or squared inputs (to its weight); ReLU and
// max pool pass their 0/1 routes; averaging passes the square of its 1/k; branches add. -----------------------
const vjp = (fn, at, dy) => tf.grad(fn)(at, dy);
const h = new Map(), obd = {};
const add = (map, name, t) => { map[name] = map[name] ? tf.add(map[name], t) : t; };
const pass = (name, t) => { if (name !== graph.input.name && !constants.has(name)) h.set(name, h.has(name) ? tf.add(h.get(name), t) : t); };
const prob = tf.softmax(logits);
pass(graph.output, vjp(flatten, values.get(graph.output), tf.div(tf.mul(prob, tf.sub(1, prob)), samples)));
for (const node of [...graph.nodes].reverse()) {
  const hy = h.get(node.outputs[0]);
  if (!hy) continue;
  const [a, b] = node.inputs;
  const xa = values.get(a) ?? constants.get(a);
  switch (node.op) {
    case 'Conv': {
      const w = constants.get(b);
      add(obd, b, vjp(v => conv(node, tf.square(xa), v), w, hy));
      if (node.inputs[2]) add(obd, node.inputs[2], tf.sum(hy, [0, 1, 2]));
      if (a !== graph.input.name) pass(a, vjp(v => conv(node, v, tf.square(w)), xa, hy));
      break;
    }
    case 'BatchNormalization': pass(a, tf.mul(hy, tf.square(batchNormScale(node, n => constants.get(n))))); break;
    case 'Relu': pass(a, tf.mul(hy, tf.cast(tf.greater(xa, 0), 'float32'))); break;
    case 'Add': pass(a, hy); pass(b, hy); break;
    case 'MaxPool': pass(a, vjp(v => maxPool(node, v), xa, hy)); break;
    case 'AveragePool': { const [kh, kw] = attribute(node, 'kernel_shape'); pass(a, tf.div(vjp(v => averagePool(node, v), xa, hy), kh * kw)); break; }
    case 'GlobalAveragePool': pass(a, tf.div(vjp(v => tf.mean(v, [1, 2], true), xa, hy), xa.shape[1] * xa.shape[2])); break;
    case 'Flatten': pass(a, vjp(flatten, xa, hy)); break;
    case 'Gemm': case 'MatMul': {
      const w = constants.get(b);
      const product = (l, r) => node.op === 'Gemm' ? gemm(node, l, r) : tf.matMul(l, r);
      add(obd, b, vjp(v => product(tf.square(xa), v), w, hy));
      if (node.inputs[2]) add(obd, node.inputs[2], tf.sum(hy, 0));
      pass(a, vjp(v => product(v, tf.square(w)), xa, hy));
      break;
    }
    default: unsupported(node, 'the operator');
  }
}

// --- compare with Swim's grad/ and hess/, per tensor: the largest absolute difference over the largest magnitude
// (the pass criterion), and the root-sum-square difference over the root-sum-square magnitude -----------------
let worst = 0;
console.log('parameter        elements   grad: max rel.   rms rel.   obd: max rel.   rms rel.');
for (const name of names) {
  const compare = (ours, theirs) => {
    if (!theirs) return [Infinity, Infinity];
    const a = ours.values, b = theirs.dataSync();
    let diff = 0, scale = 0, diff2 = 0, scale2 = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      diff = Math.max(diff, d); scale = Math.max(scale, Math.abs(b[i]));
      diff2 += d * d; scale2 += b[i] * b[i];
    }
    return scale === 0 ? [diff, Math.sqrt(diff2)] : [diff / scale, Math.sqrt(diff2 / scale2)];
  };
  const [g, gRms] = compare(swim.get('grad/' + name), tfGradient[name]);
  const [o, oRms] = compare(swim.get('hess/' + name), obd[name]);
  worst = Math.max(worst, g, o);
  const e = v => v.toExponential(2).padStart(10);
  console.log(`${name.padEnd(16)} ${String(constants.get(name).size).padStart(8)}   ${e(g)}   ${e(gRms)}   ${e(o)}   ${e(oRms)}`);
}
console.log(`worst relative error ${worst.toExponential(2)} (tolerance 1e-3)`);
process.exit(worst <= 1e-3 ? 0 : 1);
