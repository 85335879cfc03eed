import type { Feature, Point } from 'geojson';
import { childCode, gridFeature, widthFor } from './features';
import type { Administration } from './governance';
import { cellPoint, neighbour, type Lattice } from './lattice';
import { people } from './names';
import type { Outline } from './outline';
import { createRandom, deriveSeed, randomInt, type Random } from './random';
import { centreCell, farthestSeeds, readingOrder } from './regions';
import type { DemoSystem, OutletProperties } from './types';

/**
 * Fictional banks. Each draws outlets (网点) far apart and serves the communities within `reach`
 * community hops of one; what no bank reaches goes to whichever service area reaches it first
 * (DOMAIN.md "Bank grids": no blanks across banks; urban grids may overlap, not excessively).
 */
const BANKS = [
  { key: 'bank-qingchuan-rcb-demo', name: '青川农商银行', prefix: 'QN', communitiesPerOutlet: 8, reach: 1 },
  { key: 'bank-jincheng-demo', name: '锦城银行', prefix: 'JC', communitiesPerOutlet: 10, reach: 1 },
  { key: 'bank-shufeng-demo', name: '蜀丰银行', prefix: 'SF', communitiesPerOutlet: 14, reach: 1 },
] as const;

interface ServiceArea {
  /** The community the outlet stands in. */
  outlet: number;
  communities: number[];
}

export interface Banks {
  systems: DemoSystem[];
  outlets: Feature<Point, OutletProperties>[];
}

/**
 * Bank grid systems, one per bank (overlap inside a bank is a defect, across banks it is allowed):
 * outlet service area (网点服务片区) → grid, where a grid is one community ("big grid contains small
 * grid": the big grid is the community, DOMAIN.md).
 */
export function bankSystems(seed: number, lattice: Lattice, admin: Administration, households: Int32Array, population: Int32Array, outline: Outline): Banks {
  const random = createRandom(deriveSeed(seed, 'banks'));
  const adjacent = communityGraph(lattice, admin);
  const centres = admin.communities.map((m) => centreCell(lattice, m.cells));
  const areas: ServiceArea[][] = BANKS.map((bank) => {
    const count = Math.max(1, Math.round(admin.communities.length / bank.communitiesPerOutlet));
    return farthestSeeds(random, lattice, centres, count).map((cell) => ({ outlet: admin.communityOf[cell], communities: [] }));
  });
  assignCommunities(adjacent, areas);

  const systems: DemoSystem[] = [];
  const outlets: Feature<Point, OutletProperties>[] = [];
  BANKS.forEach((bank, b) => {
    const staff = createRandom(deriveSeed(seed, 'bank-people', bank.key));
    const areaOf = new Int32Array(lattice.columns * lattice.rows).fill(-1);
    const ordered = readingOrder(
      lattice,
      areas[b].map((area) => ({ area, cells: area.communities.flatMap((m) => admin.communities[m].cells).sort((x, y) => x - y) })),
    );
    const areaWidth = widthFor(ordered.length, 2);
    const gridWidth = widthFor(Math.max(...ordered.map((o) => o.area.communities.length)), 2);
    const features = ordered.flatMap(({ area, cells }, a) => {
      cells.forEach((c) => (areaOf[c] = a));
      const code = childCode(bank.prefix, a, areaWidth);
      const place = admin.communities[area.outlet].name.replace(/社区$/, '');
      const grids = readingOrder(lattice, area.communities.map((m) => ({ m, cells: admin.communities[m].cells })));
      outlets.push(point(lattice, random, centres[area.outlet], { bank: bank.key, name: `${bank.name}${place}支行`, kind: 'outlet', grid: code }));
      for (let k = randomInt(random, 1, 3); k > 0; k--) {
        const g = Math.floor(random() * grids.length);
        const community = admin.communities[grids[g].m];
        const cell = community.cells[Math.floor(random() * community.cells.length)];
        outlets.push(point(lattice, random, cell, { bank: bank.key, name: `${bank.name}${community.name}自助银行`, kind: 'atm', grid: childCode(code, g, gridWidth) }));
      }
      return [
        gridFeature(
          { code, name: `${bank.name}${place}支行服务片区`, level: 'outlet-area', parent: null, type: 'urban', people: people(staff, '支行行长', ['网点负责人']), cells },
          outline(cells, areaOf, a),
          households,
          population,
        ),
        ...grids.map(({ m }, g) => {
          const community = admin.communities[m];
          return gridFeature(
            { code: childCode(code, g, gridWidth), name: `${bank.name}${community.name}金融服务网格`, level: 'grid', parent: code, type: 'urban', people: people(staff, '客户经理', ['兼职网格员']), cells: community.cells },
            structuredClone(community.geometry),
            households,
            population,
          );
        }),
      ];
    });
    // Parents before children: service areas first, then their grids.
    features.sort((x, y) => Number(x.properties.level === 'grid') - Number(y.properties.level === 'grid'));
    systems.push({
      system: {
        key: bank.key,
        name: `${bank.name}金融服务网格`,
        kind: 'bank',
        description: `${bank.name}（虚构银行，演示数据）：网点服务片区 → 金融服务网格（一个社区一格）；行内无缝、一格一人，与他行可有重叠。`,
        levels: [
          { key: 'outlet-area', name: '网点服务片区', order: 1, codeSegment: { length: bank.prefix.length + areaWidth, charset: 'alnum' } },
          { key: 'grid', name: '金融服务网格', order: 2, codeSegment: { length: gridWidth, charset: 'digits' } },
        ],
        overlapPolicy: { maxDepth: 1 },
        codeScheme: { type: 'free' },
      },
      grids: { type: 'FeatureCollection', features },
    });
  });
  return { systems, outlets };
}

/**
 * Each bank's outlets take the communities within `reach` hops, nearest first (breadth-first from all its
 * outlets at once, so every service area is connected); then every community no bank reached joins the
 * service area that reaches it first, again breadth-first over all banks.
 */
function assignCommunities(adjacent: number[][], areas: ServiceArea[][]): void {
  const covered = new Uint8Array(adjacent.length);
  const queue: { area: ServiceArea; m: number }[] = [];
  areas.forEach((own, b) => {
    const depth = new Int32Array(adjacent.length).fill(-1);
    const frontier: { area: ServiceArea; m: number }[] = [];
    for (const area of own) {
      if (depth[area.outlet] >= 0) continue;
      depth[area.outlet] = 0;
      frontier.push({ area, m: area.outlet });
    }
    for (let k = 0; k < frontier.length; k++) {
      const { area, m } = frontier[k];
      area.communities.push(m);
      covered[m] = 1;
      queue.push({ area, m });
      if (depth[m] >= BANKS[b].reach) continue;
      for (const n of adjacent[m]) {
        if (depth[n] >= 0) continue;
        depth[n] = depth[m] + 1;
        frontier.push({ area, m: n });
      }
    }
  });
  for (let k = 0; k < queue.length; k++) {
    const { area, m } = queue[k];
    for (const n of adjacent[m]) {
      if (covered[n]) continue;
      covered[n] = 1;
      area.communities.push(n);
      queue.push({ area, m: n });
    }
  }
  for (const own of areas) for (const area of own) area.communities.sort((x, y) => x - y);
}

/** Communities that share at least one cell side, each list ascending. */
function communityGraph(lattice: Lattice, admin: Administration): number[][] {
  const sets = admin.communities.map(() => new Set<number>());
  admin.communities.forEach((community, m) => {
    for (const c of community.cells) {
      for (let d = 0; d < 4; d++) {
        const n = neighbour(lattice, c, d);
        const other = n < 0 ? -1 : admin.communityOf[n];
        if (other >= 0 && other !== m) sets[m].add(other);
      }
    }
  });
  return sets.map((s) => [...s].sort((a, b) => a - b));
}

/** A point well inside `cell` (cells are convex, so the middle of the cell is safe). */
function point(lattice: Lattice, random: Random, cell: number, properties: OutletProperties): Feature<Point, OutletProperties> {
  return { type: 'Feature', properties, geometry: { type: 'Point', coordinates: cellPoint(lattice, cell, 0.3 + 0.4 * random(), 0.3 + 0.4 * random()) } };
}
