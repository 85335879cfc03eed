import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../app';
import { ChangeBus } from '../db/changes';
import type { Database } from '../db/engine';
import { createLogger } from '../logger';
import { engines, openTestDatabase } from '../test/db';
import { gridFeature, rect } from '../test/fixtures';
import { DEMO_PASSWORD, seedDemoAccounts } from './demo-accounts';

/** The demo city's shape in miniature: governance district → street → community → grid, and two banks. */
const levels = ['district', 'street', 'community', 'grid'].map((key, i) => ({ key, name: key, order: i + 1 }));
const x = 121.4;
const y = 31.2;

describe.each(engines())('demo accounts on %s PostGIS', (engine) => {
  let db: Database;
  let changes: ChangeBus;
  let services: Services;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    changes = new ChangeBus(db);
    await changes.start();
    services = createServices({ db, changes, logger: createLogger('error') });
    await services.systems.create({ key: 'governance', name: '综合网格', kind: 'governance', levels });
    await services.grids.import(
      'governance',
      [
        gridFeature('510199', 'district', null, rect(x, y, x + 0.02, y + 0.02)),
        gridFeature('510199002', 'street', '510199', rect(x + 0.01, y, x + 0.02, y + 0.02)),
        gridFeature('510199001', 'street', '510199', rect(x, y, x + 0.01, y + 0.02)),
        gridFeature('510199001001', 'community', '510199001', rect(x, y, x + 0.01, y + 0.02)),
        gridFeature('510199001001001', 'grid', '510199001001', rect(x, y, x + 0.01, y + 0.02)),
      ],
      { mode: 'append', repair: false },
    );
    for (const key of ['bank-b', 'bank-a']) await services.systems.create({ key, name: key, kind: 'bank', levels: [{ key: 'grid', name: 'grid', order: 1 }] });
  });
  afterAll(async () => {
    await changes?.stop();
    await db?.close();
  });

  it('creates one account per role over the first units of the city, keeping an administrator that exists', async () => {
    await services.access.setupAdmin('an-admin-password-1');
    const accounts = await seedDemoAccounts(services.access);
    expect(accounts.map((a) => a.username)).toEqual(['admin', 'planner', 'approver', 'auditor', 'district', 'street', 'community', 'worker', 'department', 'bank', 'police', 'public']);
    expect(accounts.find((a) => a.username === 'admin')!.skipped).toBe(true);
    expect(accounts.find((a) => a.username === 'worker')).toMatchObject({ system: 'governance', code: '510199001001001' });
    expect(accounts.find((a) => a.username === 'street')).toMatchObject({ system: 'governance', code: '510199001' });
    expect(accounts.find((a) => a.username === 'bank')).toMatchObject({ system: 'bank-a' });
    const login = await services.access.login('worker', DEMO_PASSWORD, '127.0.0.1');
    expect(login.roles).toEqual([{ role: 'worker', system: 'governance', code: '510199001001001' }]);
    await expect(services.access.login('admin', DEMO_PASSWORD, '127.0.0.1')).rejects.toThrow(/wrong password/);
  });
});
