import { describe, expect, it } from 'vitest';
import type { ChangeBus, ChangeEvent } from '../db/changes';
import { createLogger } from '../logger';
import { TileService } from './service';
import type { GridSourceInfo, Staleness, TileSource, TileSourceProvider } from './source';
import { tileBounds, type LonLatBbox, type TileCoord } from './tile-math';

/** A source whose tile is its id and coordinates as bytes; counts how often each tile is made. */
class FakeSource implements TileSource {
  readonly maxzoom = 18;
  made: string[] = [];
  /** Resolves the next getTile when set, to hold a tile in the middle of being made. */
  hold: Promise<void> | null = null;
  constructor(readonly id: string) {}
  async info(): Promise<GridSourceInfo> {
    return { id: this.id, kind: 'grids', name: this.id, description: '', bounds: null, minzoom: 0, maxzoom: 18, vectorLayers: [], system: { key: this.id, name: this.id, kind: 'other' }, levels: [] };
  }
  async getTile({ z, x, y }: TileCoord): Promise<Uint8Array | null> {
    this.made.push(`${z}/${x}/${y}`);
    if (this.hold) await this.hold;
    return z === 0 ? null : Buffer.from(`${this.id}:${z}/${x}/${y};`);
  }
  onChange(event: ChangeEvent): Staleness {
    return event.system === this.id ? (event.bbox ?? 'all') : null;
  }
}

function setup(cacheBytes = 1 << 20) {
  const sources = [new FakeSource('a'), new FakeSource('b')];
  const provider: TileSourceProvider = { discover: async () => sources, rediscoverOn: () => false };
  const service = new TileService([provider], createLogger('silent'), cacheBytes);
  let listener: (e: ChangeEvent) => void = () => undefined;
  service.start({ on: (l: (e: ChangeEvent) => void) => ((listener = l), () => undefined) } as unknown as ChangeBus);
  const change = (system: string, bbox: LonLatBbox | null) => listener({ kind: 'grids', system, codes: ['X'], bbox, origin: 'test' });
  return { service, a: sources[0]!, b: sources[1]!, change };
}

const tile = (z: number, x: number, y: number) => ({ z, x, y });
const inside = (t: TileCoord): LonLatBbox => {
  const [w, s, e, n] = tileBounds(t);
  return [w + (e - w) / 4, s + (n - s) / 4, w + (e - w) / 2, s + (n - s) / 2];
};

describe('TileService', () => {
  it('makes a tile once and serves it from the cache with a content hash', async () => {
    const { service, a, change } = setup();
    expect(service.cached(['a'], tile(3, 1, 2))).toBeUndefined();
    const first = await service.tile(['a'], tile(3, 1, 2));
    const again = await service.tile(['a'], tile(3, 1, 2));
    expect(again).toBe(first);
    expect(service.cached(['a'], tile(3, 1, 2))).toBe(first);
    expect(a.made).toEqual(['3/1/2']);
    expect(first.body!.toString()).toBe('a:3/1/2;');
    expect(first.hash).toMatch(/^[\w-]{22}$/);
    expect([first.etag, first.gzipEtag]).toEqual([`"${first.hash}"`, `"${first.hash}-gz"`]);
    // A change drops the tile from what the warm path sees too.
    change('a', null);
    expect(service.cached(['a'], tile(3, 1, 2))).toBeUndefined();
    expect((await service.tile(['a'], tile(0, 0, 0))).body).toBeNull();
  });

  it('drops exactly the tiles a change touches, in the source it changed', async () => {
    const { service, a, b, change } = setup();
    const tiles = [tile(5, 10, 12), tile(5, 11, 12), tile(5, 20, 3)];
    for (const t of tiles) {
      await service.tile(['a'], t);
      await service.tile(['b'], t);
    }
    change('a', inside(tile(5, 10, 12)));
    for (const t of tiles) {
      await service.tile(['a'], t);
      await service.tile(['b'], t);
    }
    expect(a.made).toEqual(['5/10/12', '5/11/12', '5/20/3', '5/10/12']);
    expect(b.made).toEqual(['5/10/12', '5/11/12', '5/20/3']);
    change('b', null);
    for (const t of tiles) await service.tile(['b'], t);
    expect(b.made).toHaveLength(6);
  });

  it('counts a change inside the tile buffer as touching the tile', async () => {
    const { service, a, change } = setup();
    await service.tile(['a'], tile(10, 500, 300));
    const [w, s, e, n] = tileBounds(tile(10, 500, 300));
    const east = e + ((e - w) * 32) / 4096; // 32 of the 64 buffer units east of the tile
    change('a', [east, s, east, n]);
    await service.tile(['a'], tile(10, 500, 300));
    expect(a.made).toHaveLength(2);
  });

  it('serves but does not cache a tile made across a change, and makes a tile once for concurrent requests', async () => {
    const { service, a, change } = setup();
    await service.tile(['a'], tile(1, 0, 0));
    a.made = [];
    let release!: () => void;
    a.hold = new Promise((r) => (release = r));
    const t = tile(4, 3, 3);
    const pending = [service.tile(['a'], t), service.tile(['a'], t)];
    await new Promise((r) => setImmediate(r));
    change('a', null);
    a.hold = null;
    release();
    const [first, second] = await Promise.all(pending);
    expect(second).toBe(first);
    expect(a.made).toEqual(['4/3/3']);
    await service.tile(['a'], t);
    expect(a.made).toEqual(['4/3/3', '4/3/3']);
  });

  it('combines sources by concatenating their tiles, each cached on its own', async () => {
    const { service, a, b, change } = setup();
    const both = await service.tile(['b', 'a'], tile(2, 1, 1));
    expect(both.body!.toString()).toBe('b:2/1/1;a:2/1/1;');
    await service.tile(['a'], tile(2, 1, 1));
    change('b', null);
    expect((await service.tile(['b', 'a'], tile(2, 1, 1))).body!.toString()).toBe('b:2/1/1;a:2/1/1;');
    expect(a.made).toEqual(['2/1/1']);
    expect(b.made).toEqual(['2/1/1', '2/1/1']);
  });

  it('evicts the least recently used tiles beyond its byte cap', async () => {
    const { service, a } = setup(3 * 400);
    for (const x of [0, 1, 2, 3]) await service.tile(['a'], tile(2, x, 0));
    await service.tile(['a'], tile(2, 3, 0));
    await service.tile(['a'], tile(2, 0, 0));
    expect(a.made).toEqual(['2/0/0', '2/1/0', '2/2/0', '2/3/0', '2/0/0']);
  });

  it('refuses unknown sources and zooms beyond maxzoom', async () => {
    const { service } = setup();
    await expect(service.tile(['a', 'nope'], tile(1, 0, 0))).rejects.toMatchObject({ status: 404, code: 'unknown_layer' });
    await expect(service.tile(['a'], tile(19, 0, 0))).rejects.toMatchObject({ status: 400, code: 'invalid_tile' });
  });
});
