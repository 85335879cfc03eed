import { gridFeature, rect } from '../test/fixtures';
import type { TestApp } from '../test/app';

/**
 * The access tests' territory, away from every other fixture: governance system `acc-gov` with district D
 * → communities C1 (west), C2 (east) → grids C1A (south-west), C1B (north-west), C2A (east); a bank's
 * system `acc-bank` with one branch B1 over all of it and its two grids B1a (west) and B1b (east); a
 * second bank `acc-bank2` with one grid Z1. Phones of grid and bank staff and of households, and a
 * police-sourced register column, are planted so leaks can be searched for.
 */
export const X0 = 116.3;
export const Y0 = 39.9;
export const D = 0.01;
export const GOV = 'acc-gov';
export const BANK = 'acc-bank';
export const BANK2 = 'acc-bank2';
export const PHONES = ['13812345678', '13987654321', '13700001111', '13600002222', '13500003333', '13400004444', '13900005555', '13100006666'];
/** The police-sourced value planted on household H1 (column `police_key_person`). */
export const POLICE_VALUE = '社区矫正对象';

const govSystem = {
  key: GOV,
  name: '权限测试网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1 },
    { key: 'community', name: '社区', order: 2 },
    { key: 'grid', name: '网格', order: 3 },
  ],
};
const bankLevels = [
  { key: 'branch', name: '支行', order: 1 },
  { key: 'grid', name: '金融服务网格', order: 2 },
];
const bankSystem = { key: BANK, name: '权限测试银行', kind: 'bank', levels: bankLevels };
const bank2System = { key: BANK2, name: '权限测试银行二', kind: 'bank', levels: bankLevels };

const person = (name: string, phone: string) => [{ name, role: 'responsible', title: '网格长', phone }];
const govGrids = [
  gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D), { people: person('郑区长', '13200007777') }),
  gridFeature('C1', 'community', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D), { people: person('冯社长', '13000008888') }),
  gridFeature('C2', 'community', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D), { people: person('孙丽', PHONES[5]!) }),
  // A count of key persons from police sources: officers see it, roles without personal data do not.
  gridFeature('C1A', 'grid', 'C1', rect(X0, Y0, X0 + D, Y0 + D), { people: person('王芳', PHONES[0]!), police_key_persons: 1 }),
  gridFeature('C1B', 'grid', 'C1', rect(X0, Y0 + D, X0 + D, Y0 + 2 * D)),
  gridFeature('C2A', 'grid', 'C2', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D), { people: person('赵强', PHONES[1]!) }),
];
const bankGrids = [
  gridFeature('B1', 'branch', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D), { people: person('钱行', PHONES[2]!) }),
  gridFeature('B1a', 'grid', 'B1', rect(X0, Y0, X0 + D, Y0 + 2 * D), { people: person('周敏', PHONES[6]!) }),
  gridFeature('B1b', 'grid', 'B1', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D), { people: person('吴刚', PHONES[7]!) }),
];
const bank2Grids = [
  gridFeature('Z1', 'branch', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('Z1a', 'grid', 'Z1', rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
];

/** Points inside each grid of the governance system. */
export const IN = {
  C1A: [X0 + D / 2, Y0 + D / 2],
  C1B: [X0 + D / 2, Y0 + 1.5 * D],
  C2A: [X0 + 1.5 * D, Y0 + D / 2],
} as const;

const addressCsv = [
  'external_id,kind,door,street,building,households,population,lon,lat,phone,head,police_key_person',
  `H1,residential,1号,长安街,1栋,2,5,${IN.C1A[0]},${IN.C1A[1]},${PHONES[3]},刘洋,${POLICE_VALUE}`,
  `H2,residential,2号,长安街,2栋,3,7,${IN.C1B[0]},${IN.C1B[1]},13300005555,陈静,`,
  `H3,residential,3号,长安街,3栋,1,2,${IN.C2A[0]},${IN.C2A[1]},${PHONES[4]},杨光,`,
].join('\n');

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const passwordOf = (username: string) => `${username}-password-1`;

/** Who holds which role over which unit; `inside`/`outside` are the targets the matrix test uses. */
export const ACCOUNTS = [
  { username: 'planner', role: 'planner', system: GOV, code: 'C1' },
  { username: 'approver', role: 'approver', system: GOV, code: 'D' },
  { username: 'auditor', role: 'auditor' },
  { username: 'district', role: 'district', system: GOV, code: 'D' },
  { username: 'street', role: 'street', system: GOV, code: 'C1' },
  { username: 'community', role: 'community', system: GOV, code: 'C1' },
  { username: 'worker', role: 'worker', system: GOV, code: 'C1A' },
  { username: 'department', role: 'department' },
  { username: 'bank', role: 'bank', system: BANK },
  { username: 'police', role: 'police', system: GOV, code: 'C1' },
  { username: 'public', role: 'public' },
  // Bank tiers below the head office, and another bank's head office.
  { username: 'branch', role: 'bank', system: BANK, code: 'B1a' },
  { username: 'bank2', role: 'bank', system: BANK2 },
] as const;

/** Systems, grids, addresses and one account per role, created through the API as the first administrator. */
export async function seedAccessFixture(t: TestApp): Promise<Record<string, string>> {
  await t.services.access.setupAdmin(ADMIN_PASSWORD);
  const tokens: Record<string, string> = {};
  tokens.admin = (await t.request.post('/api/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200)).body.token;
  const auth = { Authorization: `Bearer ${tokens.admin}` };
  for (const [system, grids] of [
    [govSystem, govGrids],
    [bankSystem, bankGrids],
    [bank2System, bank2Grids],
  ] as const) {
    await t.request.post('/api/systems').set(auth).send(system).expect(201);
    await t.request.post(`/api/systems/${system.key}/import`).set(auth).send({ type: 'FeatureCollection', features: grids }).expect(200);
  }
  await t.request.post('/api/addresses/import?format=csv').set(auth).set('content-type', 'text/csv').send(addressCsv).expect(200);
  for (const a of ACCOUNTS) {
    const roles = [{ role: a.role, ...('system' in a ? { system: a.system } : {}), ...('code' in a ? { code: a.code } : {}) }];
    await t.request.post('/api/access/users').set(auth).send({ username: a.username, password: passwordOf(a.username), roles }).expect(201);
    tokens[a.username] = (await t.request.post('/api/auth/login').send({ username: a.username, password: passwordOf(a.username) }).expect(200)).body.token;
  }
  return tokens;
}
