import type { District } from './district';
import { childCode, gridFeature, widthFor } from './features';
import { GRID_HOUSEHOLDS } from './governance';
import { people, placeNames } from './names';
import type { Outline } from './outline';
import { createRandom, deriveSeed, randomInt } from './random';
import { createScratch, farthestSeeds, growRelaxedRegions, mergeSmallRegions, partitionTree, readingOrder } from './regions';
import type { DemoSystem } from './types';

/** Health grids hold 800–1000 households (DOMAIN.md "Size and staffing rules"). */
const HEALTH_HOUSEHOLDS = { min: 800, max: 1000 };
/** One community health service centre per ~70 governance grids, about one per street but not aligned with them. */
const GRIDS_PER_CENTRE = 70;
/** People per household, drawn per grid. */
const PEOPLE_PER_HOUSEHOLD = { min: 2.3, max: 2.9 };

export interface HealthPlan {
  centres: { code: string; name: string; cells: number[] }[];
  grids: { code: string; name: string; centre: number; cells: number[] }[];
  centreOf: Int32Array;
  gridOf: Int32Array;
  /** Households and population of every district cell, i.e. of every governance grid. */
  households: Int32Array;
  population: Int32Array;
}

/**
 * Health grids drawn over the district without regard to communities (DOMAIN.md: they do NOT nest inside
 * communities): health centres grown from their own seeds, each cut into groups of 2–5 governance grids.
 *
 * The households of every governance grid are drawn here, per health grid: a total in 800–1000 split over
 * its 2–5 governance grids with each part in 200–500, so both rules hold by construction (a group of five
 * gets exactly 200 each).
 */
export function planHealth(seed: number, district: District): HealthPlan {
  const { lattice, cells } = district;
  const random = createRandom(deriveSeed(seed, 'health'));
  const size = lattice.columns * lattice.rows;
  const cost = new Float64Array(size);
  for (const c of cells) cost[c] = 0.5 + random();
  const centreOf = new Int32Array(size).fill(-1);
  const target = Math.max(1, Math.round(cells.length / GRIDS_PER_CENTRE));
  const grown = growRelaxedRegions(lattice, cells, farthestSeeds(random, lattice, cells, target), cost, centreOf, 0, createScratch(lattice));
  const centreCells = readingOrder(lattice, mergeSmallRegions(lattice, grown, centreOf, 0, 8).map((own) => ({ cells: own }))).map((r) => r.cells);
  centreCells.forEach((own, k) => own.forEach((c) => (centreOf[c] = k)));
  const names = placeNames(createRandom(deriveSeed(seed, 'health-names')), centreCells.length);
  const centreWidth = widthFor(centreCells.length, 2);
  const centres = centreCells.map((own, k) => ({ code: childCode('JK', k, centreWidth), name: `${names[k]}社区卫生服务中心`, cells: own }));

  const groups = centres.map((centre, k) => readingOrder(lattice, partitionTree(random, lattice, centre.cells, centreOf, k).map((own) => ({ cells: own }))));
  const gridWidth = widthFor(Math.max(...groups.map((g) => g.length)), 3);
  const gridOf = new Int32Array(size).fill(-1);
  const households = new Int32Array(size);
  const population = new Int32Array(size);
  const grids: HealthPlan['grids'] = [];
  groups.forEach((list, k) =>
    list.forEach(({ cells: own }, n) => {
      const parts = own.length;
      let left = randomInt(random, Math.max(HEALTH_HOUSEHOLDS.min, GRID_HOUSEHOLDS.min * parts), Math.min(HEALTH_HOUSEHOLDS.max, GRID_HOUSEHOLDS.max * parts));
      own.forEach((c, p) => {
        const after = parts - p - 1;
        const h = randomInt(random, Math.max(GRID_HOUSEHOLDS.min, left - GRID_HOUSEHOLDS.max * after), Math.min(GRID_HOUSEHOLDS.max, left - GRID_HOUSEHOLDS.min * after));
        left -= h;
        households[c] = h;
        population[c] = Math.round(h * (PEOPLE_PER_HOUSEHOLD.min + (PEOPLE_PER_HOUSEHOLD.max - PEOPLE_PER_HOUSEHOLD.min) * random()));
        gridOf[c] = grids.length;
      });
      grids.push({ code: childCode(centres[k].code, n, gridWidth), name: `${centres[k].name}第${n + 1}健康网格`, centre: k, cells: own });
    }),
  );
  return { centres, grids, centreOf, gridOf, households, population };
}

/** The health system (健康网格): health service centre → health grid. */
export function healthSystem(
  seed: number,
  plan: HealthPlan,
  outline: Outline,
): DemoSystem {
  const random = createRandom(deriveSeed(seed, 'health-people'));
  const { households, population } = plan;
  const centreLength = plan.centres[0].code.length;
  const features = [
    ...plan.centres.map((centre, k) =>
      gridFeature(
        { code: centre.code, name: centre.name, level: 'centre', parent: null, type: 'urban', people: people(random, '卫生服务中心主任', ['公共卫生科科长']), cells: centre.cells },
        outline(centre.cells, plan.centreOf, k),
        households,
        population,
      ),
    ),
    ...plan.grids.map((grid, g) =>
      gridFeature(
        { code: grid.code, name: grid.name, level: 'grid', parent: plan.centres[grid.centre].code, type: 'urban', people: people(random, '家庭医生', ['公卫医生', '社区护士']), cells: grid.cells },
        outline(grid.cells, plan.gridOf, g),
        households,
        population,
      ),
    ),
  ];
  return {
    system: {
      key: 'health',
      name: '健康网格',
      kind: 'health',
      description: '健康网格（演示数据）：社区卫生服务中心 → 健康网格，每格 800–1000 户，不按社区边界划分。',
      levels: [
        { key: 'centre', name: '社区卫生服务中心', order: 1, codeSegment: { length: centreLength, charset: 'alnum' } },
        { key: 'grid', name: '健康网格', order: 2, households: { ...HEALTH_HOUSEHOLDS }, codeSegment: { length: plan.grids[0].code.length - centreLength, charset: 'digits' } },
      ],
      overlapPolicy: { maxDepth: 1 },
      codeScheme: { type: 'free' },
    },
    grids: { type: 'FeatureCollection', features },
  };
}
