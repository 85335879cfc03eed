import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePartition } from './index';
import { expectedDocument, gridsToFixture, loadFixture, stringifyDocument } from './testing/fixtures';
import { generateLatticePartition } from './testing/generate';

const ROOT = resolve(__dirname, '../../../fixtures/partition');
const UPDATE = process.env.UPDATE === '1';

/** Fixture cases as data: input next to `<case>.expected.json`, the whole report compared. */
for (const folder of ['valid', 'invalid'] as const) {
  describe(`partition fixtures: ${folder}`, () => {
    const files = readdirSync(join(ROOT, folder)).filter((f) => f.endsWith('.geojson'));
    it('has cases', () => expect(files.length).toBeGreaterThan(0));

    for (const file of files) {
      it(file, () => {
        const fixture = loadFixture(join(ROOT, folder, file));
        const report = validatePartition(fixture.system, fixture.grids, fixture.options);
        const kinds = [...new Set(report.issues.map((i) => i.kind))].sort();
        if (folder === 'valid') expect(report.issues).toEqual([]);
        else expect(kinds, 'the report must contain exactly the intended defect kinds').toEqual([...fixture.defects].sort());
        for (const issue of report.issues) expect(issue.grids.length, issue.reason).toBeGreaterThan(0);

        const expectedPath = join(ROOT, folder, file.replace(/\.geojson$/, '.expected.json'));
        const actual = JSON.parse(stringifyDocument(expectedDocument(fixture, report)));
        if (UPDATE) {
          writeFileSync(expectedPath, stringifyDocument(actual));
          return;
        }
        if (!existsSync(expectedPath)) {
          throw new Error(`missing ${expectedPath}; review the case, then create it with: UPDATE=1 npx vitest run service/geometry/partition/fixtures.test.ts`);
        }
        expect(actual).toEqual(JSON.parse(readFileSync(expectedPath, 'utf8')));
      });
    }
  });
}

describe('partition fixtures: provenance', () => {
  it('the generated valid case is the lattice generator\'s output (seed 7, 32 × 32 cells)', () => {
    const { grids } = generateLatticePartition({ seed: 7, columns: 32, rows: 32, cellsPerCommunity: 4, communitiesPerStreet: 4 });
    const path = join(ROOT, 'valid', `generated-${grids.length}-grids.geojson`);
    const text = stringifyDocument(gridsToFixture(grids));
    if (UPDATE) writeFileSync(path, text);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(JSON.parse(text));
  });
});
