/**
 * `node scripts/import-graph.mjs [ROOT]`: the import graph of lambda/, lib/, scripts/ and bin/
 * (relative TypeScript imports and re-exports, type-only ones included). Prints its import
 * cycles (strongly connected components) and its upward imports (scripts/bin > lib > lambda;
 * inside lambda/ the wiring folders app, runtime, functions, local, compose above the
 * domains). Exits 1 when there is a cycle.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'node_modules') walk(p);
    } else if (/\.(ts|mts)$/.test(e) && !e.endsWith('.d.ts')) files.push(p);
  }
};
for (const d of ['lambda', 'lib', 'scripts', 'bin']) if (existsSync(join(root, d))) walk(join(root, d));
const graph = new Map();
const re = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of src.matchAll(re)) {
    const t = resolve(dirname(f), m[1]).replace(/\.(m?js)$/, '');
    for (const c of [t, `${t}.ts`, `${t}.mts`, join(t, 'index.ts')])
      if (existsSync(c) && statSync(c).isFile() && /\.m?ts$/.test(c)) {
        deps.add(c);
        break;
      }
  }
  graph.set(f, [...deps]);
}
let idx = 0;
const st = [],
  on = new Set(),
  I = new Map(),
  L = new Map(),
  sccs = [];
const sc = (v) => {
  I.set(v, idx);
  L.set(v, idx++);
  st.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!I.has(w)) {
      sc(w);
      L.set(v, Math.min(L.get(v), L.get(w)));
    } else if (on.has(w)) L.set(v, Math.min(L.get(v), I.get(w)));
  }
  if (L.get(v) === I.get(v)) {
    const c = [];
    let w;
    do {
      w = st.pop();
      on.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(c);
  }
};
for (const v of graph.keys()) if (!I.has(v)) sc(v);
const rel = (p) => relative(root, p);
console.log(`files: ${files.length}, edges: ${[...graph.values()].reduce((s, d) => s + d.length, 0)}`);
console.log(`cycles: ${sccs.length}`);
for (const c of sccs) console.log(`  ${c.map(rel).join(' <-> ')}`);
// Upward: top level scripts > lib > lambda; inside lambda the wiring folders (app, runtime, functions, local, compose) sit above the domains.
const WIRING = new Set(['app', 'runtime', 'functions', 'local', 'compose']);
const top = (p) => rel(p).split('/')[0];
const sub = (p) => rel(p).split('/')[1];
const rank = { scripts: 3, bin: 3, lib: 2, lambda: 1 };
const up = [];
for (const [f, deps] of graph)
  for (const d of deps) {
    if (rank[top(d)] > rank[top(f)]) up.push([f, d]);
    else if (top(f) === 'lambda' && top(d) === 'lambda' && !WIRING.has(sub(f)) && WIRING.has(sub(d)))
      up.push([f, d]);
  }
console.log(`upward imports: ${up.length}`);
for (const [f, d] of up) console.log(`  ${rel(f)} -> ${rel(d)}`);
if (sccs.length > 0) process.exitCode = 1;
