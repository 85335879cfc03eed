import type { Feature, FeatureCollection, Point } from 'geojson';
import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import { badRequest, notFound } from '../errors';
import type { RegisterCounts } from '../grids';
import { rootsIn, seesSystem, type AreaScope } from '../kernel/scope';
import type { Bbox, StoredSystem } from '../kernel/types';
import type { SystemQueries } from '../systems';
import { widen } from './assignment';
import { GridIndex } from './grid-index';
import { importRecords, type AddressImportOptions } from './import';
import { levelOrder, reassignOnGridChange, reassignOnSettingsChange } from './reassign';
import type { SourceRecord } from './rows';
import { restrictStats } from './scoped';
import { systemStats, type SystemStats } from './stats';
import type { AddressQueries, AddressRecord } from './store';

export type { AddressImportOptions, AddressImportReport } from './import';

export type AddressStatus = 'assigned' | 'ambiguous' | 'nearest' | 'unassigned';

export interface AddressListQuery {
  system?: string;
  grid?: string;
  status?: AddressStatus;
  bbox?: Bbox;
  externalIds?: string[];
  kind?: string;
  /** The caller's scope (issue #10): only addresses assigned inside it. */
  scope?: AreaScope;
  limit: number;
  offset: number;
}

export interface NearestAddress {
  externalId: string;
  kind: string;
  door: string | null;
  street: string | null;
  building: string | null;
  distance_m: number;
  grids: { system: string; code: string | null; status: AddressStatus; distance_m?: number }[];
}

/**
 * The address register: streamed import in any Chinese CRS, assignment to the grids of every system,
 * re-assignment inside grid changes, listing and statistics against the size rules (issue #5).
 */
export interface AddressServiceDeps {
  transact: Transact;
  store: (tx?: Tx) => AddressQueries;
  systemStore: (tx?: Tx) => SystemQueries;
  changes: ChangeBus;
}

export function createAddressService(deps: AddressServiceDeps) {
  const { transact, store, systemStore, changes } = deps;
  /**
   * Indexes of whole systems, kept between imports: reading 100 000 grids costs seconds, an import of
   * ten rows should not. Valid while the system's grid generation (bumped by every grid change, see
   * onGridChange) and its version (levels may be reordered) are what they were.
   */
  const indexCache = new Map<number, { key: string; index: GridIndex }>();

  async function systemIndexes(q: AddressQueries, systems: StoredSystem[]): Promise<{ system: StoredSystem; index: GridIndex }[]> {
    const generations = await q.generations();
    const out: { system: StoredSystem; index: GridIndex }[] = [];
    for (const system of systems) {
      const key = `${generations.get(system.id) ?? 0}:${system.version}`;
      let cached = indexCache.get(system.id);
      if (cached?.key !== key) {
        cached = { key, index: new GridIndex(await q.indexGrids(system.id, levelOrder(system), null)) };
        indexCache.set(system.id, cached);
      }
      out.push({ system, index: cached.index });
    }
    for (const id of indexCache.keys()) if (!systems.some((s) => s.id === id)) indexCache.delete(id);
    return out;
  }

  async function requireSystem(key: string): Promise<StoredSystem> {
    const s = await systemStore().get(key);
    if (!s) throw notFound('system_not_found', `grid system "${key}" does not exist`);
    return s;
  }

  const importContext = { transact, store, systemStore, changes, systemIndexes };
  const onGridChange = reassignOnGridChange({ store, changes });

  async function systemKeys(scope: AreaScope = 'all'): Promise<Map<string, string>> {
    return new Map((await systemStore().list()).filter((s) => seesSystem(scope, s.key)).map((s) => [String(s.id), s.key]));
  }

  /** The grid codes of `system` in scope: null when the whole system is. */
  async function codesInScope(q: AddressQueries, system: StoredSystem, scope: AreaScope | undefined): Promise<{ codes: Set<string>; roots: string[] } | null> {
    const roots = scope === undefined ? null : rootsIn(scope, system.key);
    if (roots === null) return null;
    const codes = new Set<string>();
    for (const root of roots) for (const code of (await q.subtreeOf(system.id, root))?.codes ?? []) codes.add(code);
    return { codes, roots };
  }

  /** The store's `within` filter for a scope: per system in it, its grid codes in scope. */
  async function within(q: AddressQueries, scope: AreaScope | undefined) {
    if (scope === undefined || scope === 'all') return undefined;
    const out: { systemId: number; codes: string[] | null }[] = [];
    for (const system of await systemStore().list()) {
      const found = await codesInScope(q, system, scope);
      if (found === null) out.push({ systemId: system.id, codes: null });
      else if (found.codes.size > 0) out.push({ systemId: system.id, codes: [...found.codes] });
    }
    return out;
  }

  function toFeature(a: AddressRecord, keys: Map<string, string>): Feature<Point> {
    const grids: Record<string, { code: string; status: AddressStatus; distance_m?: number; also_in?: string[] }> = {};
    for (const [id, key] of keys) {
      const code = a.grids[id];
      if (!code) continue;
      const note = a.gridStatus[id];
      grids[key] = {
        code,
        status: note?.status ?? 'assigned',
        ...(note?.status === 'nearest' ? { distance_m: note.distance_m } : {}),
        ...(note?.status === 'ambiguous' ? { also_in: note.also_in } : {}),
      };
    }
    return {
      type: 'Feature',
      id: a.externalId,
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
      properties: {
        ...a.attributes,
        external_id: a.externalId,
        kind: a.kind,
        door: a.door,
        street: a.street,
        building: a.building,
        unit: a.unit,
        room: a.room,
        building_key: a.buildingKey,
        households: a.households,
        population: a.population,
        nearest_m: a.nearestM,
        grids,
        version: a.version,
        updated_at: a.updatedAt,
      },
    };
  }

  return {
    import: (records: AsyncIterable<SourceRecord>, options: AddressImportOptions) => importRecords(importContext, records, options),
    onGridChange,
    /** For the systems feature: a PATCH that reorders levels re-assigns the system's addresses in its transaction. */
    onSettingsChange: reassignOnSettingsChange(onGridChange),

    /**
     * Addresses as GeoJSON, filtered by grid (with its subtree) and status in one system, bbox, external
     * ids and kind; ordered by insertion, paged by limit and offset.
     */
    async list(query: AddressListQuery): Promise<FeatureCollection<Point> & { numberReturned: number }> {
      const q = store();
      if ((query.grid || query.status) && !query.system) {
        throw badRequest('system_required', `${query.grid ? 'grid' : 'status'} needs system= to say which grid system it refers to`);
      }
      const system = query.system ? await requireSystem(query.system) : null;
      let codes: string[] | undefined;
      let codesExtent: Bbox | undefined;
      if (system && query.grid) {
        const subtree = await q.subtreeOf(system.id, query.grid);
        if (!subtree) throw notFound('grid_not_found', `grid "${query.grid}" does not exist in system "${system.key}"`);
        codes = subtree.codes;
        const reach = await q.maxNearest();
        codesExtent = reach > 0 ? widen(subtree.extent, reach) : subtree.extent;
      }
      const rows = await q.list({
        systemId: system?.id,
        codes,
        codesExtent,
        status: query.status,
        bbox: query.bbox,
        externalIds: query.externalIds,
        kind: query.kind,
        within: await within(q, query.scope),
        limit: query.limit,
        offset: query.offset,
      });
      const keys = await systemKeys(query.scope);
      return { type: 'FeatureCollection', numberReturned: rows.length, features: rows.map((a) => toFeature(a, keys)) };
    },

    /** Counts per grid against the size rules, and the completeness lists (addresses-stats.ts). */
    async stats(key: string, limit: number, scope?: AreaScope): Promise<SystemStats> {
      const q = store();
      const system = await requireSystem(key);
      const stats = await systemStats(q, system, limit);
      const inScope = await codesInScope(q, system, scope);
      return inScope === null ? stats : restrictStats(stats, inScope.codes, inScope.roots);
    },

    /** Counts per grid code for the register export (网格责任人明细表). */
    async registerCounts(key: string): Promise<Map<string, RegisterCounts>> {
      const stats = await systemStats(store(), await requireSystem(key), 0);
      return new Map(stats.grids.map((g) => [g.code, { addresses: g.addresses, buildings: g.buildings, households: g.households, population: g.population }]));
    },

    /** The nearest address within `within` metres, with its grid in every system (for GET /api/point). */
    async nearest(lon: number, lat: number, reach: number, scope: AreaScope = 'all'): Promise<NearestAddress | null> {
      const q = store();
      const a = await q.nearest(lon, lat, reach);
      if (!a) return null;
      // A scoped caller learns of the address only when it lies in a grid of its scope (issue #10).
      if (scope !== 'all') {
        const area = await within(q, scope);
        const seen = area!.some((w) => {
          const code = a.grids[String(w.systemId)];
          return code !== undefined && code !== null && (w.codes === null || w.codes.includes(code));
        });
        if (!seen) return null;
      }
      const keys = await systemKeys(scope);
      return {
        externalId: a.externalId,
        kind: a.kind,
        door: a.door,
        street: a.street,
        building: a.building,
        distance_m: Math.round(a.distance * 100) / 100,
        grids: [...keys].map(([id, key]) => {
          const note = a.gridStatus[id];
          const code = a.grids[id] ?? null;
          return {
            system: key,
            code,
            status: code === null ? 'unassigned' : note?.status ?? 'assigned',
            ...(note?.status === 'nearest' ? { distance_m: note.distance_m } : {}),
          };
        }),
      };
    },
  };
}

export type AddressService = ReturnType<typeof createAddressService>;
