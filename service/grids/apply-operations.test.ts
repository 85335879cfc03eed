import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeBus } from '../db/changes';
import type { Database } from '../db/engine';
import { transactor } from '../db/tx';
import { createSystemQueries, createSystemService, type CreateSystemInput } from '../systems';
import { engines, openTestDatabase } from '../test/db';
import { cityOrigin, rect, smallCity, smallSystem } from '../test/fixtures';
import { createGridService, type GridChangeHook } from './service';
import { createGridQueries } from './store';

const { x: X0, y: Y0, d: D } = cityOrigin;

describe.each(engines())('applyOperations on %s PostGIS', (engine) => {
  let db: Database;
  const calls: { codes: string[] }[] = [];
  let grids: ReturnType<typeof createGridService>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    const transact = transactor(db.knex);
    const changes = new ChangeBus(db);
    const systems = createSystemService({ transact, store: (tx) => createSystemQueries(tx ?? db.knex), changes });
    const hook: GridChangeHook = async (_tx, _system, _bbox, codes) => void calls.push({ codes });
    grids = createGridService({ transact, store: (s, tx) => createGridQueries(tx ?? db.knex, s.key, s.id), systems, changes, hooks: [hook] });
    await systems.create(smallSystem as unknown as CreateSystemInput);
    await grids.import(smallSystem.key, smallCity(), { mode: 'append', repair: false });
  });
  afterAll(async () => db?.close());

  const state = async () => (await grids.list(smallSystem.key, {})).map((g) => [g.code, g.version, g.parentCode]);

  it('writes creates, patches and removes in one transaction and runs the hooks once with every code', async () => {
    calls.length = 0;
    await grids.applyOperations(smallSystem.key, [
      { op: 'create', feature: { type: 'Feature', properties: { code: 'D01C', name: '新区', level: 'community', parent: 'D01' }, geometry: rect(X0, Y0 + D, X0 + D, Y0 + 2 * D) } },
      { op: 'patch', code: 'D01A', body: { properties: { code: 'D01X' } }, expectedVersion: 1 },
      { op: 'remove', code: 'D01B', expectedVersion: 1 },
    ]);
    expect(calls).toEqual([{ codes: ['D01C', 'D01A', 'D01X', 'D01B'] }]);
    expect((await state()).filter(([c]) => String(c).startsWith('D01'))).toEqual([
      ['D01', 1, 'D'],
      ['D01C', 1, 'D01'],
      ['D01X', 2, 'D01'],
    ]);
  });

  it('changes nothing and runs no hook when one write fails (a stale version)', async () => {
    calls.length = 0;
    const before = await state();
    await expect(
      grids.applyOperations(smallSystem.key, [
        { op: 'patch', code: 'D02A', body: { properties: { name: '改名' } }, expectedVersion: 1 },
        { op: 'remove', code: 'D02B', expectedVersion: 7 },
      ]),
    ).rejects.toMatchObject({ status: 409, code: 'version_conflict' });
    expect(await state()).toEqual(before);
    expect(calls).toEqual([]);
  });
});
