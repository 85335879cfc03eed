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
 * community hops of one. The rural commercial bank also takes every rural community no bank reached
 * (DOMAIN.md "Bank grids": rural grids fill blanks); urban communities no bank reaches stay blanks, and
 * a `partial` bank, where another bank already serves a community, takes only the part of it nearest
 * its outlet — the overlay report (issue #13) then shows blanks, allowed and excessive urban overlap and
 * rural overlap side by side (覆盖盲区与重叠并存).
 */
const BANKS = [
  { key: 'bank-qingchuan-rcb-demo', name: '青川农商银行', prefix: 'QN', communitiesPerOutlet: 8, reach: 1, fillsRural: true, partial: false },
  { key: 'bank-jincheng-demo', name: '锦城银行', prefix: 'JC', communitiesPerOutlet: 10, reach: 1, fillsRural: false, partial: false },
  { key: 'bank-shufeng-demo', name: '蜀丰银行', prefix: 'SF', communitiesPerOutlet: 14, reach: 1, fillsRural: false, partial: true },
] as const;
/** Share of a community's cells a partial bank's grid takes where another bank already serves it. */
const PARTIAL_SHARE = 0.4;

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
  assignCommunities(adjacent, areas, admin.communities.map((m) => m.rural));
  const servedBy = areas.map((own) => new Set(own.flatMap((area) => area.communities)));

  const systems: DemoSystem[] = [];
  const outlets: Feature<Point, OutletProperties>[] = [];
  BANKS.forEach((bank, b) => {
    const staff = createRandom(deriveSeed(seed, 'bank-people', bank.key));
    const areaOf = new Int32Array(lattice.columns * lattice.rows).fill(-1);
    const gridOf = new Int32Array(lattice.columns * lattice.rows).fill(-1);
    let gridCount = 0;
    const ordered = readingOrder(
      lattice,
      areas[b].map((area) => {
        const grids = area.communities.map((m) => {
          const whole = admin.communities[m].cells;
          const shared = bank.partial && m !== area.outlet && servedBy.some((served, other) => other !== b && served.has(m));
          const cells = shared ? nearestCells(lattice, whole, centres[area.outlet], PARTIAL_SHARE) : whole;
          return { m, cells, partial: shared, label: gridCount++ };
        });
        for (const g of grids) for (const c of g.cells) gridOf[c] = g.label;
        return { area, grids, cells: grids.flatMap((g) => g.cells).sort((x, y) => x - y) };
      }),
    );
    const areaWidth = widthFor(ordered.length, 2);
    const gridWidth = widthFor(Math.max(...ordered.map((o) => o.area.communities.length)), 2);
    const features = ordered.flatMap(({ area, grids: own, cells }, a) => {
      cells.forEach((c) => (areaOf[c] = a));
      const code = childCode(bank.prefix, a, areaWidth);
      const place = admin.communities[area.outlet].name.replace(/社区$/, '');
      const grids = readingOrder(lattice, own);
      outlets.push(point(lattice, random, centres[area.outlet], { bank: bank.key, name: `${bank.name}${place}支行`, kind: 'outlet', grid: code }));
      for (let k = randomInt(random, 1, 3); k > 0; k--) {
        const g = Math.floor(random() * grids.length);
        const community = admin.communities[grids[g].m];
        const cell = grids[g].cells[Math.floor(random() * grids[g].cells.length)];
        outlets.push(point(lattice, random, cell, { bank: bank.key, name: `${bank.name}${community.name}自助银行`, kind: 'atm', grid: childCode(code, g, gridWidth) }));
      }
      return [
        gridFeature(
          { code, name: `${bank.name}${place}支行服务片区`, level: 'outlet-area', parent: null, type: 'urban', people: people(staff, '支行行长', ['网点负责人']), cells },
          outline(cells, areaOf, a),
          households,
          population,
        ),
        ...grids.map(({ m, cells: gridCells, partial, label }, g) => {
          const community = admin.communities[m];
          return gridFeature(
            {
              code: childCode(code, g, gridWidth),
              name: `${bank.name}${community.name}${partial ? '片区' : ''}金融服务网格`,
              level: 'grid',
              parent: code,
              type: community.rural ? 'rural' : 'urban',
              people: people(staff, '客户经理', ['兼职网格员']),
              cells: gridCells,
            },
            partial ? outline(gridCells, gridOf, label) : structuredClone(community.geometry),
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
 * outlets at once, so every service area is connected). Then the rural-filling bank takes every rural
 * community it did not reach, into the service area that reaches it first over the community graph.
 * Urban communities no bank reached stay uncovered.
 */
function assignCommunities(adjacent: number[][], areas: ServiceArea[][], rural: readonly boolean[]): void {
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
      // A town bank serves no rural community but the one its outlet stands in: the rural bank fills the rest.
      const reached = depth[m] <= BANKS[b].reach && (BANKS[b].fillsRural || !rural[m] || m === area.outlet);
      if (reached) area.communities.push(m);
      else if (BANKS[b].fillsRural && rural[m]) area.communities.push(m);
      if (!reached && !BANKS[b].fillsRural) continue;
      for (const n of adjacent[m]) {
        if (depth[n] >= 0) continue;
        depth[n] = depth[m] + 1;
        frontier.push({ area, m: n });
      }
    }
  });
  for (const own of areas) for (const area of own) area.communities.sort((x, y) => x - y);
}

/** The `share` of `cells` (at least one, never all of several) nearest to cell `from`, ascending. */
function nearestCells(lattice: Lattice, cells: readonly number[], from: number, share: number): number[] {
  const [fx, fy] = [from % lattice.columns, Math.floor(from / lattice.columns)];
  const distance = (c: number) => ((c % lattice.columns) - fx) ** 2 + (Math.floor(c / lattice.columns) - fy) ** 2;
  const count = Math.min(Math.max(1, Math.round(cells.length * share)), Math.max(1, cells.length - 1));
  return [...cells].sort((a, b) => distance(a) - distance(b) || a - b).slice(0, count).sort((a, b) => a - b);
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
