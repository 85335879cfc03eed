import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './engine';
import { returnsRows } from './lost-result';
import { engines, openTestDatabase } from '../test/db';

// US county 08005 of us-atlas has this shape: a MultiPolygon whose first part has collapsed to a point.
const COLLAPSED_FIRST = 'MULTIPOLYGON(((5 5,5 5,5 5,5 5)),((0 0,1 0,1 1,0 1,0 0)))';

describe('returnsRows', () => {
  it('tells statements that describe columns from those that do not', () => {
    expect(returnsRows('select 1')).toBe(true);
    expect(returnsRows('  -- a comment\n  SELECT * from grids')).toBe(true);
    expect(returnsRows('values (1)')).toBe(true);
    expect(returnsRows('with a as (select 1) select * from a')).toBe(true);
    expect(returnsRows('insert into t values (1) returning id')).toBe(true);
    expect(returnsRows('update grids set name = ? where id = ? returning id')).toBe(true);
    expect(returnsRows('insert into t values (1)')).toBe(false);
    expect(returnsRows('delete from t where id in (select id from u)')).toBe(false);
    // RETURNING inside a WITH clause is not the statement's own.
    expect(returnsRows('with kept as (insert into s select 1 returning 1) delete from s where exists (select 1 from kept)')).toBe(false);
    expect(returnsRows("update t set note = 'select returning' where id = 1")).toBe(false);
    expect(returnsRows('create function f() returns int language sql as $$ select 1 $$')).toBe(false);
    expect(returnsRows('begin')).toBe(false);
    expect(returnsRows('create table t (id serial primary key, v text)')).toBe(false);
    expect(returnsRows('alter table t add column select_count int')).toBe(false);
  });
});

describe.each(engines())('a statement the engine ends without a result or an error, on %s PostGIS', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('fails loudly, and its transaction stores nothing', async () => {
    const repaired = db.knex.raw(`select ST_AsText(ST_MakeValid(?::geometry)) as g`, [COLLAPSED_FIRST]);
    if (engine === 'server') {
      expect((await repaired).rows).toEqual([{ g: 'GEOMETRYCOLLECTION(POLYGON((0 1,1 1,1 0,0 0,0 1)),POINT(5 5))' }]);
      return;
    }
    // PGlite 0.5.8 + PostGIS 3.6.2 returns no columns, no rows and no error for this statement.
    await expect(repaired).rejects.toMatchObject({ status: 422, code: 'statement_lost' });
    await db.knex.raw('create table lost_probe (id int)');
    const written = db.knex.transaction(async (trx) => {
      await trx.raw('insert into lost_probe values (1)');
      await trx.raw(`insert into lost_probe select 2 where ST_MakeValid(?::geometry) is not null returning id`, [COLLAPSED_FIRST]);
    });
    await expect(written).rejects.toMatchObject({ code: 'statement_lost' });
    expect((await db.knex.raw('select count(*)::int as n from lost_probe')).rows[0].n).toBe(0);
  });
});
