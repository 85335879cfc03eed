import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PATCHED, UNPATCHED, patchSource, pgliteEntries } from './patch-pglite.mjs';

// PGlite 0.5.8's `__dlsym_js` as shipped (index.js), the line the postinstall patch rewrites.
const SHIPPED =
  'var __dlsym_js=(e,t,r)=>{t=UTF8ToString(t);var a,o,_=LDSO.loadedLibsByHandle[e];if(!_.exports.hasOwnProperty(t)||_.exports[t].stub)' +
  'return dlSetError(`Tried to lookup unknown symbol "${t}" in dynamic lib: ${_.name}`),0;if(o=Object.keys(_.exports).indexOf(t),a=_.exports[t],' +
  'typeof a=="function"){var s=getFunctionAddress(a);s?a=s:(a=addFunction(a,a.sig),HEAPU32[r>>2]=o)}return a};';

/** Runs a `__dlsym_js` source against a small Emscripten-like world and records what it returns and writes. */
function lookUp(source: string, symbols: string[]) {
  const exportsOf = { data: 4096, first: () => 1, second: () => 2, stubbed: Object.assign(() => 3, { stub: true }) };
  const table = new Map<unknown, number>([[exportsOf.second, 77]]);
  const heap = new Uint32Array(16);
  const errors: string[] = [];
  const world = {
    UTF8ToString: (s: string) => s,
    LDSO: { loadedLibsByHandle: { 1: { name: 'postgis-3', exports: exportsOf } } },
    dlSetError: (m: string) => errors.push(m),
    getFunctionAddress: (f: unknown) => table.get(f) ?? 0,
    addFunction: (f: unknown) => {
      const address = 100 + table.size;
      table.set(f, address);
      return address;
    },
    HEAPU32: heap,
  };
  const dlsym = new Function(...Object.keys(world), `${source} return __dlsym_js;`)(...Object.values(world)) as (h: number, s: string, slot: number) => number;
  const results = symbols.map((s, i) => dlsym(1, s, i * 4));
  return { results, slots: [...heap.slice(0, symbols.length)], errors };
}

describe('the PGlite dlsym patch (issue #15: first start)', () => {
  it('rewrites the shipped line, and lookups return and store what they did before', () => {
    const patched = patchSource(SHIPPED);
    expect(patched).not.toBe(SHIPPED);
    expect(patched).toMatch(PATCHED);
    expect(patched).not.toMatch(UNPATCHED);
    const symbols = ['first', 'second', 'data', 'missing', 'stubbed', 'first'];
    const before = lookUp(SHIPPED, symbols);
    expect(before.results).toEqual([101, 77, 4096, 0, 0, 101]);
    expect(before.slots).toEqual([1, 0, 0, 0, 0, 0]);
    expect(lookUp(patched, symbols)).toEqual(before);
  });

  it('is applied to the installed PGlite (npm ci runs scripts/patch-pglite.mjs)', () => {
    const entries = pgliteEntries();
    expect(entries.length).toBeGreaterThan(0);
    for (const file of entries) {
      const source = fs.readFileSync(file, 'utf8');
      expect(source, `${file}: an upgrade changed PGlite's dlsym line; update or drop scripts/patch-pglite.mjs`).toMatch(PATCHED);
      expect(source).not.toMatch(UNPATCHED);
    }
  });
});
