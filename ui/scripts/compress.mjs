// After `vite build`: a .br and a .gz beside every text asset in dist/, which the worker's file responses
// pick by the request's Accept-Encoding (aiohttp's FileResponse). Node's own zlib; nothing to install.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const TEXT = /\.(js|css|html|svg|json|map|txt)$/;
const MIN_BYTES = 1024; // smaller files gain nothing worth a second request path

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let before = 0;
let after = 0;
for (const path of files(new URL("../dist", import.meta.url).pathname)) {
  if (!TEXT.test(path)) continue;
  const raw = readFileSync(path);
  if (raw.length < MIN_BYTES) continue;
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(`${path}.gz`, gzipSync(raw, { level: 9 }));
  writeFileSync(`${path}.br`, br);
  before += raw.length;
  after += br.length;
}
console.log(`compressed assets: ${(before / 1024).toFixed(1)} kB -> ${(after / 1024).toFixed(1)} kB brotli`);
