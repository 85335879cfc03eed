import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports, readTree } from '../scripts/check-imports';

describe('import rules (ARCHITECTURE.md)', () => {
  it('hold over the whole service', () => {
    const violations = checkImports(readTree(path.resolve('service')));
    expect(violations.map((v) => `${v.file}: ${v.imports} — ${v.rule}`)).toEqual([]);
  });

  it.each([
    ['geometry/area.ts', "import { AppError } from '../errors';", 'geometry/ is pure'],
    ['db/engine.ts', "import { createGridService } from '../grids/service';", 'db/ is shared'],
    ['grids/service.ts', "import type { Knex } from 'knex';", 'only stores and db/ import knex'],
    ['grids/service.ts', "import { knexOf } from '../db/tx';", 'only stores open a handle'],
    ['grids/routes.ts', "import { createGridQueries } from './store';", 'routes never reach the database'],
    ['grids/service.ts', "import type { Context } from 'koa';", 'no Koa'],
    ['grids/service.ts', "import { createSystemQueries } from '../systems/store';", 'through its index'],
  ])('catch %s importing %s', (file, line, rule) => {
    const files = new Map([
      [file, `${line}\n`],
      ['grids/index.ts', ''],
      ['systems/index.ts', ''],
    ]);
    const violations = checkImports(files);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.map((v) => v.rule).join('; ')).toContain(rule);
  });

  it('let a feature use another through its index, and stores use knex', () => {
    const files = new Map([
      ['grids/service.ts', "import { childCode } from '../systems';\nimport type { Tx } from '../db/tx';\n"],
      ['grids/store.ts', "import type { Knex } from 'knex';\nimport { knexOf } from '../db/tx';\n"],
      ['systems/index.ts', ''],
    ]);
    expect(checkImports(files)).toEqual([]);
  });
});
