// Checks Swim's sensitivity file against TensorFlow.js on the same network: the gradient of the mean softmax
// cross-entropy from TF.js autograd, and the OBD diagonal from an implementation written here with TF.js's own
// vector-Jacobian products (each layer's derivative taken on squared inputs or squared weights, as OBD
// prescribes). Usage: node check.mjs MODEL.onnx DATA.npz SENS.npz SAMPLES
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

// --- protobuf: just enough of ONNX's ModelProto to read float initializers ---------------------------------
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

function readInitializers(path) {
  const model = fs.readFileSync(path);
  const tensors = new Map();
  for (const f of fields(model)) {
    if (f.number !== 7) continue; // ModelProto.graph
    for (const g of fields(f.bytes)) {
      if (g.number !== 5) continue; // GraphProto.initializer
      let name = '', dims = [], type = 0, raw = null, floats = [];
      for (const t of fields(g.bytes)) {
        if (t.number === 1) {
          if (t.wire === 0) dims.push(Number(t.value));
          else for (const d of fields(t.bytes, 0, t.bytes.length, true)) dims.push(Number(d.value ?? 0));
        } else if (t.number === 2) type = Number(t.value);
        else if (t.number === 8) name = Buffer.from(t.bytes).toString('utf8');
        else if (t.number === 9) raw = t.bytes;
        else if (t.number === 4) {
          if (t.wire === 5) floats.push(Buffer.from(t.bytes).readFloatLE(0));
          else for (let i = 0; i < t.bytes.length; i += 4) floats.push(Buffer.from(t.bytes.subarray(i, i + 4)).readFloatLE(0));
        }
      }
      if (type !== 1) continue; // float only
      const values = raw ? new Float32Array(Uint8Array.from(raw).buffer) : Float32Array.from(floats);
      tensors.set(name, { dims, values });
    }
  }
  return tensors;
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

// --- data: the first SAMPLES of the training split, as Swim's sensitivity pass takes them -------------------
const npz = readNpz(dataPath);
const x = npz.get('x'), y = npz.get('y');
const sampleSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
const features = new Float32Array(samples * sampleSize);
for (let i = 0; i < features.length; i++) features[i] = x.values instanceof Uint8Array ? x.values[i] / 255 : x.values[i];
const labels = Array.from({ length: samples }, (_, i) => Number(y.values[i]));

// --- LeNet-5 as the bundled ONNX graph has it, in TF.js (NHWC) ----------------------------------------------
const onnx = readInitializers(modelPath);
const weight = name => tf.tensor(onnx.get(name).values, onnx.get(name).dims);
const ohwiToHwio = w => tf.transpose(w, [2, 3, 1, 0]);        // ONNX conv weights are O x I x H x W
const params = {
  'conv1.weight': weight('conv1.weight'), 'conv1.bias': weight('conv1.bias'),
  'conv2.weight': weight('conv2.weight'), 'conv2.bias': weight('conv2.bias'),
  'fc1.weight': weight('fc1.weight'), 'fc1.bias': weight('fc1.bias'),
  'fc2.weight': weight('fc2.weight'), 'fc2.bias': weight('fc2.bias'),
  'fc3.weight': weight('fc3.weight'), 'fc3.bias': weight('fc3.bias'),
};
const input = tf.transpose(tf.tensor(features, [samples, 1, 28, 28]), [0, 2, 3, 1]);
const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);

// One forward pass keeping what the OBD recursion needs.
function forward(p) {
  const z1 = tf.add(tf.conv2d(input, ohwiToHwio(p['conv1.weight']), 1, [[0, 0], [2, 2], [2, 2], [0, 0]]), p['conv1.bias']);
  const a1 = tf.relu(z1);
  const m1 = tf.maxPool(a1, 2, 2, 'valid');
  const z2 = tf.add(tf.conv2d(m1, ohwiToHwio(p['conv2.weight']), 1, 'valid'), p['conv2.bias']);
  const a2 = tf.relu(z2);
  const m2 = tf.maxPool(a2, 2, 2, 'valid');
  const flat = tf.reshape(tf.transpose(m2, [0, 3, 1, 2]), [samples, 400]);  // ONNX flattens C x H x W
  const z3 = tf.add(tf.matMul(flat, p['fc1.weight'], false, true), p['fc1.bias']);
  const a3 = tf.relu(z3);
  const z4 = tf.add(tf.matMul(a3, p['fc2.weight'], false, true), p['fc2.bias']);
  const a4 = tf.relu(z4);
  const logits = tf.add(tf.matMul(a4, p['fc3.weight'], false, true), p['fc3.bias']);
  return { z1, a1, m1, z2, a2, m2, flat, z3, a3, z4, a4, logits };
}
const meanLoss = p => tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(forward(p).logits)), 1)));

// Gradient: TF.js autograd of the mean loss with respect to every parameter.
const names = Object.keys(params);
const gradients = tf.grads((...values) => meanLoss(Object.fromEntries(names.map((n, i) => [n, values[i]]))))(names.map(n => params[n]));
const tfGradient = Object.fromEntries(names.map((n, i) => [n, gradients[i]]));

// OBD: h at the logits is p (1 - p) / B; each layer passes h back through its vector-Jacobian product taken
// with squared weights (to the input) or squared inputs (to the weight); ReLU and max pool pass their 0/1 routes.
const f = forward(params);
const prob = tf.softmax(f.logits);
const vjp = (fn, at, dy) => tf.grad(fn)(at, dy);
let h = tf.div(tf.mul(prob, tf.sub(1, prob)), samples);
const obd = {};
function dense(name, x, hy) {
  const w = params[name + '.weight'];
  obd[name + '.weight'] = vjp(v => tf.matMul(tf.square(x), v, false, true), w, hy);
  obd[name + '.bias'] = tf.sum(hy, 0);
  return vjp(v => tf.matMul(v, tf.square(w), false, true), x, hy);
}
function conv(name, x, hy, pad) {
  const w = params[name + '.weight'];
  obd[name + '.weight'] = vjp(v => tf.conv2d(tf.square(x), ohwiToHwio(v), 1, pad), w, hy);
  obd[name + '.bias'] = tf.sum(hy, [0, 1, 2]);
  return vjp(v => tf.conv2d(v, ohwiToHwio(tf.square(w)), 1, pad), x, hy);
}
const reluRoute = (z, hy) => tf.mul(hy, tf.cast(tf.greater(z, 0), 'float32'));
const poolRoute = (a, hy) => vjp(v => tf.maxPool(v, 2, 2, 'valid'), a, hy);
h = dense('fc3', f.a4, h);
h = dense('fc2', f.a3, reluRoute(f.z4, h));
h = dense('fc1', f.flat, reluRoute(f.z3, h));
h = tf.transpose(tf.reshape(h, [samples, 16, 5, 5]), [0, 2, 3, 1]);
h = conv('conv2', f.m1, reluRoute(f.z2, poolRoute(f.a2, h)), 'valid');
conv('conv1', input, reluRoute(f.z1, poolRoute(f.a1, h)), [[0, 0], [2, 2], [2, 2], [0, 0]]);

// Compare with Swim's grad/ and hess/: largest absolute difference over the largest magnitude, per tensor.
const swim = readNpz(sensitivityPath);
let worst = 0;
console.log('parameter        elements   grad rel. error   obd rel. error');
for (const name of names) {
  const compare = (ours, theirs) => {
    const a = ours.values, b = theirs.dataSync();
    let diff = 0, scale = 0;
    for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
    return scale === 0 ? diff : diff / scale;
  };
  const g = compare(swim.get('grad/' + name), tfGradient[name]);
  const o = compare(swim.get('hess/' + name), obd[name]);
  worst = Math.max(worst, g, o);
  console.log(`${name.padEnd(16)} ${String(params[name].size).padStart(8)}   ${g.toExponential(2).padStart(15)}   ${o.toExponential(2).padStart(14)}`);
}
console.log(`worst relative error ${worst.toExponential(2)} (tolerance 1e-3)`);
process.exit(worst <= 1e-3 ? 0 : 1);
