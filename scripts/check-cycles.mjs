// Fails when relative imports form a cycle. (madge would do this, but its peer range
// excludes TypeScript 7; relative ESM imports with explicit extensions are easy to follow.)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const roots = ['packages', 'services', 'test', 'scripts', 'bench'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) files.push(resolve(path));
  }
};
for (const root of roots) if (statSync(root, { throwIfNoEntry: false })?.isDirectory()) walk(root);

const edges = new Map();
const importRe =
  /(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
for (const file of files) {
  const targets = [];
  for (const match of readFileSync(file, 'utf8').matchAll(importRe)) {
    const spec = match[1] ?? match[2];
    targets.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  edges.set(file, targets);
}

const state = new Map(); // 1: on the stack, 2: done
const cycles = [];
const visit = (file, stack) => {
  state.set(file, 1);
  for (const next of edges.get(file) ?? []) {
    if (state.get(next) === 1) cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next) && edges.has(next)) visit(next, [...stack, next]);
  }
  state.set(file, 2);
};
for (const file of files) if (!state.has(file)) visit(file, [file]);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => relative('.', f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${files.length} files`);
