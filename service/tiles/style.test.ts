import { describe, expect, it } from 'vitest';
import type { AddressSourceInfo, GridSourceInfo, ProblemsSourceInfo } from './source';
import { buildStyle, type StyleMetadata } from './style';

const grid = (key: string, kind: GridSourceInfo['system']['kind']): GridSourceInfo => ({
  id: `grids.${key}`,
  kind: 'grids',
  name: key,
  description: '',
  bounds: [104, 30.6, 104.1, 30.7],
  minzoom: 0,
  maxzoom: 18,
  vectorLayers: [],
  system: { key, name: key, kind },
  levels: [{ key: 'grid', name: '网格', order: 1, layer: `grids.${key}.grid`, minzoom: 0 }],
});

const problems = (key: string): ProblemsSourceInfo => ({
  id: `problems.${key}`,
  kind: 'problems',
  name: key,
  description: '',
  bounds: [104, 30.6, 104.1, 30.7],
  minzoom: 0,
  maxzoom: 18,
  vectorLayers: [],
  system: { key, name: key },
  report: { generatedAt: '2026-01-01T00:00:00Z', stale: false, counts: { sliver: 1, gap: 2, empty: 1 } },
});

const addresses: AddressSourceInfo = {
  id: 'addresses',
  kind: 'addresses',
  name: '地址',
  description: '',
  bounds: null,
  minzoom: 0,
  maxzoom: 16,
  vectorLayers: [],
  pointMinzoom: 16,
  systems: ['gov'],
};

describe('buildStyle', () => {
  const style = buildStyle([addresses, problems('fire'), grid('fire', 'fire'), problems('gov'), grid('gov', 'governance')], 'http://x') as {
    layers: { id: string; layout?: { visibility: string } }[];
    sources: Record<string, { tiles: string[] }>;
    metadata: { gridatlas: StyleMetadata };
  };
  const ids = style.layers.map((l) => l.id);

  it('draws problems and addresses between the grid lines and the labels', () => {
    const lastLine = Math.max(...ids.map((id, i) => (id.endsWith(':line') && id.startsWith('grids.') ? i : -1)));
    const firstLabel = ids.findIndex((id) => id.endsWith(':label'));
    const overlays = ids.slice(lastLine + 1, firstLabel);
    expect(overlays).toEqual([
      'problems.gov:fill',
      'problems.gov:line',
      'problems.gov:point',
      'problems.fire:fill',
      'problems.fire:line',
      'problems.fire:point',
      'addresses:cluster',
      'addresses:count',
      'addresses:point',
    ]);
    expect(style.sources['problems.gov']!.tiles).toEqual(['http://x/tiles/problems.gov/{z}/{x}/{y}.mvt']);
  });

  it("shows the first system's problems only, and tells the page each report's kinds, commonest first", () => {
    const visible = (id: string) => style.layers.find((l) => l.id === id)!.layout!.visibility;
    expect([visible('problems.gov:fill'), visible('problems.fire:fill'), visible('addresses:point')]).toEqual(['visible', 'none', 'visible']);
    const [gov, fire] = style.metadata.gridatlas.systems;
    expect(gov!.problems).toMatchObject({ source: 'problems.gov', layers: ['problems.gov:fill', 'problems.gov:line', 'problems.gov:point'], stale: false });
    expect(gov!.problems!.kinds.map((k) => [k.kind, k.count])).toEqual([['gap', 2], ['empty', 1], ['sliver', 1]]);
    expect(fire!.problems!.source).toBe('problems.fire');
    expect(style.metadata.gridatlas.addresses).toMatchObject({ source: 'addresses', pointMinzoom: 16, layers: ['addresses:cluster', 'addresses:count', 'addresses:point'] });
  });
});
