// Run by `npm ci` / `npm install` (postinstall). Plain JavaScript: it runs before anything else is set up.
//
// PGlite's Emscripten loader resolves every symbol of an extension (`dlsym`) with
// `Object.keys(lib.exports).indexOf(symbol)`, although the index is only stored when a function is added to
// the table. PostGIS's library exports tens of thousands of symbols and `CREATE EXTENSION postgis` looks up
// about two thousand, so that line alone cost ~4.5 s of CPU on the first start of the embedded engine
// (~5.5 s → ~0.9 s for the statement; issue #15: first start under 20 s). The patch computes the index
// only where it is used; lookups return what they returned before. Checked by service/db/pglite-patch.test.ts,
// which fails when an upgrade of PGlite changes the line (then drop or update this patch).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/** The minified `__dlsym_js` body, any variable names: index, library, symbol, value, address, slot. */
export const UNPATCHED =
  /if\((\w+)=Object\.keys\((\w+)\.exports\)\.indexOf\((\w+)\),(\w+)=\2\.exports\[\3\],typeof \4=="function"\)\{var (\w+)=getFunctionAddress\(\4\);\5\?\4=\5:\(\4=addFunction\(\4,\4\.sig\),HEAPU32\[(\w+)>>2\]=\1\)\}/g;
export const PATCHED =
  /if\((\w+)=(\w+)\.exports\[(\w+)\],typeof \1=="function"\)\{var (\w+)=getFunctionAddress\(\1\);\4\?\1=\4:\((\w+)=Object\.keys\(\2\.exports\)\.indexOf\(\3\),\1=addFunction\(\1,\1\.sig\),HEAPU32\[(\w+)>>2\]=\5\)\}/;

export function patchSource(source) {
  return source.replace(
    UNPATCHED,
    (_, index, lib, symbol, value, address, slot) =>
      `if(${value}=${lib}.exports[${symbol}],typeof ${value}=="function"){var ${address}=getFunctionAddress(${value});` +
      `${address}?${value}=${address}:(${index}=Object.keys(${lib}.exports).indexOf(${symbol}),${value}=addFunction(${value},${value}.sig),HEAPU32[${slot}>>2]=${index})}`,
  );
}

/** The entry files of the installed PGlite that carry the loader (ESM and CommonJS). */
export function pgliteEntries() {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@electric-sql/pglite'));
  return ['index.js', 'index.cjs'].map((f) => path.join(dist, f)).filter((f) => fs.existsSync(f));
}

function main() {
  let entries;
  try {
    entries = pgliteEntries();
  } catch {
    return; // PGlite is not installed (e.g. a partial install): nothing to patch.
  }
  for (const file of entries) {
    const source = fs.readFileSync(file, 'utf8');
    if (PATCHED.test(source)) continue;
    const patched = patchSource(source);
    if (patched === source) {
      process.stderr.write(`patch-pglite: the dlsym line was not found in ${file}; the embedded engine's first start stays slower\n`);
      continue;
    }
    // Written beside and renamed: a hard-linked node_modules keeps its other copies untouched.
    fs.writeFileSync(`${file}.patching`, patched);
    fs.renameSync(`${file}.patching`, file);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
