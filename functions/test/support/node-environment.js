// Jest's default node environment gives each test file its own realm, so typed arrays created
// inside tests are not `instanceof` the host's Float32Array that onnxruntime-node checks against.
// Sharing the host's typed-array and buffer constructors solves that once, for every test.
const { TestEnvironment } = require('jest-environment-node');

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array',
      'Uint8ClampedArray', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
      'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedTypedArrayEnvironment;
