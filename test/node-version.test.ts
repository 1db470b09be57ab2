import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/*
 * One Node policy, written in five places (docs/deployment.md#node-versions): package.json's
 * `engines` is the floor (what CI runs, Node 20), `.nvmrc` and the Dockerfile's image name the
 * production major (22), and the README states both. A drift in any of them fails here.
 */

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

type Version = [major: number, minor: number];

/** `>=20.19` → [20, 19]; only that form is allowed, so the floor stays one readable number. */
function engineFloor(): Version {
  const pkg = JSON.parse(read('package.json')) as { engines?: { node?: string } };
  const match = /^>=(\d+)\.(\d+)$/.exec(pkg.engines?.node ?? '');
  if (!match) throw new Error(`package.json engines.node must read >=MAJOR.MINOR, got ${pkg.engines?.node}`);
  return [Number(match[1]), Number(match[2])];
}

const atLeast = ([major, minor]: Version, [floorMajor, floorMinor]: Version) =>
  major > floorMajor || (major === floorMajor && minor >= floorMinor);

describe('Node version policy', () => {
  const floor = engineFloor();
  const nvmrc = read('.nvmrc').trim();
  const dockerImage = /^ARG NODE_IMAGE=node:(\d+)(?:\.\d+)*-[a-z]+-slim$/m.exec(read('Dockerfile'));

  it('.nvmrc names one major, and the Dockerfile builds on that major', () => {
    expect(nvmrc).toMatch(/^\d+$/);
    expect(dockerImage, 'ARG NODE_IMAGE=node:<major>-<debian>-slim in the Dockerfile').not.toBeNull();
    expect(dockerImage?.[1]).toBe(nvmrc);
  });

  it('the production major satisfies engines', () => {
    // A major above the floor's satisfies >=MAJOR.MINOR from its first release on.
    expect(Number(nvmrc)).toBeGreaterThan(floor[0]);
  });

  it('the README states the floor and the recommended major', () => {
    const readme = read('README.md');
    expect(readme).toContain(`Node.js ≥ ${floor.join('.')}, ${nvmrc} recommended`);
  });

  it('the Node running this suite (CI: the floor) satisfies engines', () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(atLeast([major ?? 0, minor ?? 0], floor), `node ${process.versions.node} < ${floor.join('.')}`).toBe(true);
  });

  it('no locked dependency needs more than the floor, except the ones docs/deployment.md lists', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { engines?: { node?: string }; dev?: boolean }>;
    };
    // Ranges that admit no release of the floor's major (e.g. ">=22").
    const aboveFloor = Object.entries(lock.packages)
      .filter(([, entry]) => {
        const range = entry.engines?.node ?? '';
        const alternatives = range.split('||').map((part) => part.trim());
        const admitsFloorMajor = alternatives.some((part) => {
          const lower = /^(?:>=|\^|~)?\s*(\d+)(?:\.\d+)*$/.exec(part);
          if (!lower) return true; // a form we do not read (e.g. "*"): assume it admits
          const bound = Number(lower[1]);
          // ">=N" admits every later major; "^N", "~N" and a bare "N" admit only N.
          return part.startsWith('>=') ? bound <= floor[0] : bound === floor[0];
        });
        return range !== '' && !admitsFloorMajor;
      })
      .map(([path]) => path.replace(/^.*node_modules\//, ''))
      .sort();
    const documented = read('docs/deployment.md');
    for (const name of aboveFloor) {
      expect(documented, `${name} needs more than the floor: explain it in docs/deployment.md`).toContain(
        `\`${name}\``,
      );
    }
  });
});
