import type { MultiPolygon } from 'geojson';
import type { District } from './district';
import { childCode, gridFeature, type GridRecord } from './features';
import { cellRing, type Lattice } from './lattice';
import { people, placeNames } from './names';
import type { Outline } from './outline';
import { apportion, createRandom, deriveSeed, type Random } from './random';
import { centreCell, createScratch, farthestSeeds, growRelaxedRegions, mergeSmallRegions, readingOrder } from './regions';
import type { DemoSystem } from './types';

/** GB/T 2260 style: 5101 is Chengdu, 99 is unused, so the code is plausible and belongs to no real district. */
const DISTRICT_CODE = '510199';
const DISTRICT_NAME = '青川区';
/** About 6 streets and 40 communities per 400 grids: ~67 grids per street, ~10 per community. */
const GRIDS_PER_STREET = 400 / 6;
const GRIDS_PER_COMMUNITY = 10;
/** DB11/T 2157 gives streets and communities three digits each. */
const MAX_CHILDREN = 999;
/** Households per governance grid, urban (DOMAIN.md "Size and staffing rules"). */
export const GRID_HOUSEHOLDS = { min: 200, max: 500 };
const GRID_TYPES: [string, number][] = [
  ['楼院型', 0.6],
  ['街巷型', 0.3],
  ['单位型', 0.1],
];

export interface Area {
  code: string;
  name: string;
  cells: number[];
  geometry: MultiPolygon;
}

export interface Community extends Area {
  street: number;
  /** In the rural street: a village-like community whose bank grids follow the rural rules (DOMAIN.md "Bank grids"). */
  rural: boolean;
}

/** One governance grid per district cell. */
export interface GovernanceGrid {
  code: string;
  name: string;
  cell: number;
  community: number;
  type: string;
}

/** The administrative units of the district (DOMAIN.md: existing units stay unchanged; grids subdivide them). */
export interface Administration {
  district: Area;
  streets: Area[];
  communities: Community[];
  /** In code order, which is reading order inside each community. */
  grids: GovernanceGrid[];
  /** Per lattice cell: index of its community / grid, -1 outside the district. */
  communityOf: Int32Array;
  gridOf: Int32Array;
}

/**
 * Streets grown from far-apart seeds over the district, communities likewise inside each street, one grid
 * per cell. Every unit is numbered in reading order inside its parent and its code extends the parent's.
 */
export function divideDistrict(seed: number, district: District, outline: Outline): Administration {
  const { lattice, cells } = district;
  const random = createRandom(deriveSeed(seed, 'administration'));
  const size = lattice.columns * lattice.rows;
  const cost = new Float64Array(size);
  for (const c of cells) cost[c] = 0.5 + random();
  const scratch = createScratch(lattice);
  const inDistrict = new Int32Array(size).fill(-1);
  for (const c of cells) inDistrict[c] = 0;

  const streetOf = new Int32Array(size).fill(-1);
  const streetTarget = Math.min(MAX_CHILDREN, Math.max(1, Math.round(cells.length / GRIDS_PER_STREET)));
  const grown = growRelaxedRegions(lattice, cells, farthestSeeds(random, lattice, cells, streetTarget), cost, streetOf, 0, scratch);
  const streetCells = ordered(lattice, mergeSmallRegions(lattice, grown, streetOf, 0, Math.floor(cells.length / streetTarget / 3)), streetOf, 0);
  const streetNames = placeNames(createRandom(deriveSeed(seed, 'street-names')), streetCells.length);
  const streets = streetCells.map((own, k): Area => ({
    code: childCode(DISTRICT_CODE, k, 3),
    name: `${streetNames[k]}街道`,
    cells: own,
    geometry: outline(own, streetOf, k),
  }));

  const communityOf = new Int32Array(size).fill(-1);
  const communityTotal = Math.max(streets.length, Math.round(cells.length / GRIDS_PER_COMMUNITY));
  const counts = apportion(communityTotal, streets.map((s) => s.cells.length), 1);
  const communityCells: { cells: number[]; street: number }[] = [];
  streets.forEach((street, s) => {
    const count = Math.min(MAX_CHILDREN, Math.max(1, Math.min(counts[s], Math.floor(street.cells.length / 4))));
    const first = communityCells.length;
    const seeds = farthestSeeds(random, lattice, street.cells, count);
    const regions = mergeSmallRegions(lattice, growRelaxedRegions(lattice, street.cells, seeds, cost, communityOf, first, scratch), communityOf, first, 4);
    for (const own of ordered(lattice, regions, communityOf, first)) communityCells.push({ cells: own, street: s });
  });
  const communityNames = placeNames(createRandom(deriveSeed(seed, 'community-names')), communityCells.length);
  const ruralStreet = outermost(lattice, cells, streets);
  const siblings = new Map<number, number>();
  const communities = communityCells.map(({ cells: own, street }, m): Community => {
    const index = siblings.get(street) ?? 0;
    siblings.set(street, index + 1);
    return {
      code: childCode(streets[street].code, index, 3),
      name: `${communityNames[m]}社区`,
      cells: own,
      street,
      rural: street === ruralStreet,
      geometry: outline(own, communityOf, m),
    };
  });

  const gridOf = new Int32Array(size).fill(-1);
  const grids: GovernanceGrid[] = [];
  communities.forEach((community, m) => {
    community.cells.forEach((cell, k) => {
      gridOf[cell] = grids.length;
      grids.push({
        code: childCode(community.code, k, 3),
        name: `${community.name}第${k + 1}网格`,
        cell,
        community: m,
        type: weighted(random, GRID_TYPES),
      });
    });
  });

  const districtArea: Area = { code: DISTRICT_CODE, name: DISTRICT_NAME, cells, geometry: outline(cells, inDistrict, 0) };
  return { district: districtArea, streets, communities, grids, communityOf, gridOf };
}

/**
 * The street farthest from the district's centre: the outskirts, whose communities are rural (涉农街道), so
 * the demo has rural ground for the bank rules. Only with several streets: a lone street stays urban.
 */
function outermost(lattice: Lattice, cells: readonly number[], streets: readonly Area[]): number {
  if (streets.length < 2) return -1;
  const [cx, cy] = cellXY(lattice, centreCell(lattice, cells));
  let best = -1;
  let farthest = -1;
  streets.forEach((street, s) => {
    const [x, y] = cellXY(lattice, centreCell(lattice, street.cells));
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    if (d > farthest) {
      farthest = d;
      best = s;
    }
  });
  return best;
}

function cellXY(lattice: Lattice, c: number): [number, number] {
  return [c % lattice.columns, Math.floor(c / lattice.columns)];
}

/** Puts a batch of regions (labels `first`…) in reading order and relabels them accordingly. */
function ordered(lattice: Lattice, regions: number[][], label: Int32Array, first: number): number[][] {
  const sorted = readingOrder(lattice, regions.map((cells) => ({ cells }))).map((r) => r.cells);
  sorted.forEach((own, k) => own.forEach((c) => (label[c] = first + k)));
  return sorted;
}

function weighted<T>(random: Random, options: readonly [T, number][]): T {
  let r = random();
  for (const [value, weight] of options) {
    if (r < weight) return value;
    r -= weight;
  }
  return options[options.length - 1][0];
}

/** The governance system (综合网格): district → street → community → grid, coded per DB11/T 2157-2023. */
export function governanceSystem(seed: number, lattice: Lattice, admin: Administration, households: Int32Array, population: Int32Array): DemoSystem {
  const random = createRandom(deriveSeed(seed, 'governance-people'));
  const { district, streets, communities, grids } = admin;
  const feature = (record: GridRecord, geometry: MultiPolygon) => gridFeature(record, geometry, households, population);
  const features = [
    feature(
      { code: district.code, name: district.name, level: 'district', parent: null, type: '城区', people: people(random, '区网格化服务管理中心主任', ['区网格化服务管理中心副主任']), cells: district.cells },
      district.geometry,
    ),
    ...streets.map((s) =>
      feature(
        { code: s.code, name: s.name, level: 'street', parent: district.code, type: communities.some((m) => m.rural && streets[m.street] === s) ? '涉农街道' : '城市街道', people: people(random, '街道党工委书记', ['街道网格化服务管理中心主任']), cells: s.cells },
        s.geometry,
      ),
    ),
    ...communities.map((m) =>
      feature(
        { code: m.code, name: m.name, level: 'community', parent: streets[m.street].code, type: m.rural ? '农村社区' : '城市社区', people: people(random, '社区党委书记（总网格长）', ['社区居委会主任']), cells: m.cells },
        m.geometry,
      ),
    ),
    ...grids.map((g) =>
      feature(
        {
          code: g.code,
          name: g.name,
          level: 'grid',
          parent: communities[g.community].code,
          type: g.type,
          people: people(random, '网格长', random() < 0.5 ? ['专职网格员'] : ['专职网格员', '兼职网格员']),
          cells: [g.cell],
        },
        { type: 'MultiPolygon', coordinates: [[cellRing(lattice, g.cell)]] },
      ),
    ),
  ];
  return {
    system: {
      key: 'governance',
      name: '综合网格',
      kind: 'governance',
      description: `${district.name}综合网格（演示数据）：区县 → 街道 → 社区 → 网格，编码依 DB11/T 2157-2023，网格内自西向东、自北向南编号。`,
      levels: [
        { key: 'district', name: '区县', order: 1, codeSegment: { length: 6, charset: 'digits' } },
        { key: 'street', name: '街道', order: 2, codeSegment: { length: 3, charset: 'digits' } },
        { key: 'community', name: '社区', order: 3, codeSegment: { length: 3, charset: 'digits' } },
        { key: 'grid', name: '网格', order: 4, households: { ...GRID_HOUSEHOLDS }, codeSegment: { length: 3, charset: 'digits' } },
      ],
      overlapPolicy: { maxDepth: 1 },
      codeScheme: { type: 'db11-2157' },
    },
    grids: { type: 'FeatureCollection', features },
  };
}
