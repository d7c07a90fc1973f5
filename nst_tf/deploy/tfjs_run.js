// Run a TF.js graph model (nst-export --formats=tfjs) in Node.js with TensorFlow.js's CPU backend.
//
//   node tfjs_run.js NODE_MODULES MODEL_DIR REQUEST_JSON
//
// NODE_MODULES holds @tensorflow/tfjs (npm install --prefix .tools @tensorflow/tfjs@4).
// REQUEST_JSON: {"inputs": [{"name", "dtype", "shape", "file"}], "output_dir", "repeats"}; each
// input file holds the raw little-endian values. Every output is written to OUTPUT_DIR/NAME.bin
// and described on stdout as one JSON line: {"seconds", "backend", "outputs": [{"name", "dtype",
// "shape", "file"}]}.
"use strict";

const fs = require("fs");
const path = require("path");

const [modulesDir, modelDir, requestPath] = process.argv.slice(2);
const tf = require(path.join(path.resolve(modulesDir), "@tensorflow", "tfjs"));

function modelHandler(dir) {
  // the files of a graph model, read from disk (TF.js's own loaders fetch over HTTP)
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
  const specs = [];
  const buffers = [];
  for (const group of manifest.weightsManifest) {
    specs.push(...group.weights);
    for (const file of group.paths) buffers.push(fs.readFileSync(path.join(dir, file)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.io.fromMemory({
    modelTopology: manifest.modelTopology,
    weightSpecs: specs,
    weightData,
    format: manifest.format,
    generatedBy: manifest.generatedBy,
    convertedBy: manifest.convertedBy,
    signature: manifest.signature,
    userDefinedMetadata: manifest.userDefinedMetadata,
  });
}

function readInput(spec) {
  const raw = fs.readFileSync(spec.file);
  const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const values = spec.dtype === "int32" ? new Int32Array(bytes) : new Float32Array(bytes);
  return tf.tensor(values, spec.shape, spec.dtype);
}

async function main() {
  await tf.setBackend("cpu");
  const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
  const model = await tf.loadGraphModel(modelHandler(modelDir));
  const feeds = {};
  for (const spec of request.inputs) feeds[spec.name] = readInput(spec);
  const names = model.outputs.map((o) => o.name);
  let best = Infinity;
  let results = null;
  for (let i = 0; i < Math.max(1, request.repeats || 1); i++) {
    if (results) results.forEach((t) => t.dispose());
    const start = process.hrtime.bigint();
    let out;
    try {
      out = model.execute(feeds, names);
    } catch (err) {
      out = await model.executeAsync(feeds, names); // graphs with control flow
    }
    results = Array.isArray(out) ? out : [out];
    await Promise.all(results.map((t) => t.data()));
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  const outputs = [];
  for (let i = 0; i < results.length; i++) {
    const t = results[i];
    const name = names[i].replace(/[^A-Za-z0-9_.-]/g, "_");
    const file = path.join(request.output_dir, `${name}.bin`);
    const values = await t.data();
    fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    outputs.push({ name: names[i], dtype: t.dtype, shape: t.shape, file });
  }
  process.stdout.write(JSON.stringify({ seconds: best, backend: tf.getBackend(), outputs }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
