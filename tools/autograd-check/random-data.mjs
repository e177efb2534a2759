// Writes N random samples of a given shape with random labels as an NPZ (x float32, y int64) Swim and
// check.mjs can read: test data for models whose own data is not at hand. The values come from a seeded
// generator, so the same arguments give the same file.
// Usage: node random-data.mjs OUT.npz SAMPLES CLASSES SEED DIM [DIM ...]   e.g. ... 2 512 1 3 224 224
import fs from 'node:fs';

const [out, samplesText, classesText, seedText, ...dimsText] = process.argv.slice(2);
if (!out || dimsText.length === 0) {
  console.error('usage: node random-data.mjs OUT.npz SAMPLES CLASSES SEED DIM [DIM ...]');
  process.exit(2);
}
const samples = Number(samplesText), classes = Number(classesText), dims = dimsText.map(Number);
let state = BigInt(seedText) | 1n;
const next = () => {                                   // xorshift64*, uniform in [0, 1)
  state ^= state >> 12n; state ^= (state << 25n) & 0xffffffffffffffffn; state ^= state >> 27n;
  return Number(((state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
};
const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());

const x = new Float32Array(samples * dims.reduce((a, b) => a * b, 1)).map(gaussian);
const y = BigInt64Array.from({ length: samples }, () => BigInt(Math.floor(next() * classes)));

function npy(descr, shape, bytes) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1'); prefix[6] = 1; prefix[7] = 0; prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer)]);
}

const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc32 = data => { let c = 0xffffffff; for (const b of data) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };

// A stored (uncompressed) zip: local headers and data, then the central directory.
const entries = [['x.npy', npy('<f4', [samples, ...dims], x)], ['y.npy', npy('<i8', [samples], y)]];
const locals = [], central = [];
let offset = 0;
for (const [name, data] of entries) {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc32(data), 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const entry = Buffer.alloc(46);
  entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6);
  entry.writeUInt32LE(crc32(data), 16); entry.writeUInt32LE(data.length, 20); entry.writeUInt32LE(data.length, 24);
  entry.writeUInt16LE(name.length, 28); entry.writeUInt32LE(offset, 42);
  locals.push(local, Buffer.from(name), data);
  central.push(entry, Buffer.from(name));
  offset += 30 + name.length + data.length;
}
const directory = Buffer.concat(central);
const end = Buffer.alloc(22);
end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
fs.writeFileSync(out, Buffer.concat([...locals, directory, end]));
