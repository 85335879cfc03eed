import { childCode, gridFeature, widthFor } from './features';
import type { Administration } from './governance';
import { neighbour, type Lattice } from './lattice';
import { people } from './names';
import type { Outline } from './outline';
import { createRandom, deriveSeed, type Random } from './random';
import { partitionTree, readingOrder } from './regions';
import type { DemoSystem } from './types';

/** What a block mostly holds, named after the governance grid type that dominates it. */
const BLOCK_TYPES: Record<string, string> = { 楼院型: '住宅小区', 街巷型: '沿街商铺', 单位型: '单位院落' };
/** Blocks hold 2–6 governance grids; a block of two joins a neighbour of at most four this often. */
const MAX_BLOCK = 6;
const MERGE_SHARE = 0.5;

/**
 * The fire-safety system (消防网格; DOMAIN.md: town = big, community = medium, block = small): big grids
 * are the streets, medium ones the communities, small ones blocks of 2–6 governance grids inside a
 * community. All are unions of the same lattice cells, so they nest exactly.
 */
export function fireSystem(seed: number, lattice: Lattice, admin: Administration, households: Int32Array, population: Int32Array, outline: Outline): DemoSystem {
  const random = createRandom(deriveSeed(seed, 'fire'));
  const blockOf = new Int32Array(lattice.columns * lattice.rows).fill(-1);
  const blocks: { cells: number[]; community: number }[] = [];
  admin.communities.forEach((community, m) => {
    const first = blocks.length;
    const own = cutBlocks(random, lattice, partitionTree(random, lattice, community.cells, admin.communityOf, m), blockOf, first);
    readingOrder(lattice, own.map((cells) => ({ cells }))).forEach(({ cells }) => {
      cells.forEach((c) => (blockOf[c] = blocks.length));
      blocks.push({ cells, community: m });
    });
  });

  const staff = createRandom(deriveSeed(seed, 'fire-people'));
  const gridType = new Map(admin.grids.map((g) => [g.cell, g.type]));
  const perCommunity = new Map<number, number>();
  for (const b of blocks) perCommunity.set(b.community, (perCommunity.get(b.community) ?? 0) + 1);
  const width = widthFor(Math.max(...perCommunity.values()), 2);
  const bigCode = (s: number) => `XF${admin.streets[s].code}`;
  const mediumCode = (m: number) => bigCode(admin.communities[m].street) + admin.communities[m].code.slice(-3);
  const seq = new Map<number, number>();
  const features = [
    ...admin.streets.map((street, s) =>
      gridFeature(
        { code: bigCode(s), name: `${street.name}消防大网格`, level: 'big', parent: null, type: 'urban', people: people(staff, '消防大网格长', ['街道消防专干']), cells: street.cells },
        structuredClone(street.geometry),
        households,
        population,
      ),
    ),
    ...admin.communities.map((community, m) =>
      gridFeature(
        { code: mediumCode(m), name: `${community.name}消防中网格`, level: 'medium', parent: bigCode(community.street), type: 'urban', people: people(staff, '消防中网格长', ['社区消防专干']), cells: community.cells },
        structuredClone(community.geometry),
        households,
        population,
      ),
    ),
    ...blocks.map((block, b) => {
      const n = seq.get(block.community) ?? 0;
      seq.set(block.community, n + 1);
      const community = admin.communities[block.community];
      return gridFeature(
        {
          code: childCode(mediumCode(block.community), n, width),
          name: `${community.name}第${n + 1}消防小网格`,
          level: 'small',
          parent: mediumCode(block.community),
          type: BLOCK_TYPES[dominant(block.cells.map((c) => gridType.get(c)!))],
          people: people(staff, '消防小网格长', ['消防网格员']),
          cells: block.cells,
        },
        outline(block.cells, blockOf, b),
        households,
        population,
      );
    }),
  ];
  return {
    system: {
      key: 'fire',
      name: '消防网格',
      kind: 'fire',
      description: '消防网格（演示数据）：大网格 = 街道，中网格 = 社区，小网格 = 社区内 2–6 个综合网格组成的街区。',
      levels: [
        { key: 'big', name: '消防大网格', order: 1, codeSegment: { length: 11, charset: 'alnum' } },
        { key: 'medium', name: '消防中网格', order: 2, codeSegment: { length: 3, charset: 'digits' } },
        { key: 'small', name: '消防小网格', order: 3, codeSegment: { length: width, charset: 'digits' } },
      ],
      overlapPolicy: { maxDepth: 1 },
      codeScheme: { type: 'free' },
    },
    grids: { type: 'FeatureCollection', features },
  };
}

/**
 * Tree-partition groups of 2–5 cells, about half of the pairs merged into a neighbouring group so blocks
 * spread over 2–6 grids. `blockOf` is used as scratch with labels from `first`.
 */
function cutBlocks(random: Random, lattice: Lattice, groups: number[][], blockOf: Int32Array, first: number): number[][] {
  groups.forEach((own, k) => own.forEach((c) => (blockOf[c] = first + k)));
  const merged = groups.map((own) => [...own]);
  const done = new Set<number>();
  groups.forEach((own, k) => {
    if (own.length !== 2 || done.has(k) || random() >= MERGE_SHARE) return;
    let other = -1;
    for (const c of own) {
      for (let d = 0; d < 4; d++) {
        const n = neighbour(lattice, c, d);
        const o = n < 0 ? -1 : blockOf[n] - first;
        if (o < 0 || o >= groups.length || o === k || done.has(o) || groups[o].length + own.length > MAX_BLOCK) continue;
        if (other < 0 || o < other) other = o;
      }
    }
    if (other < 0) return;
    merged[k].push(...merged[other]);
    merged[other] = [];
    done.add(k).add(other);
  });
  return merged.filter((own) => own.length > 0).map((own) => own.sort((a, b) => a - b));
}

/** The most frequent value; ties go to the first seen. */
function dominant(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}
