import type { Queryable } from '../db/tx';
import classificationFixture from '../../fixtures/incidents/classification.json';
import type { Bbox } from '../kernel/types';
import type { PointAnswer } from '../point';
import { Classification } from './classification';
import { createIncidentStore, type IncidentRecord, type Locate } from './store';
import { OPEN_STATUSES } from './workflow';

/** An open case and the finest grid it lies in, per system (the routing snapshot). */
export interface OpenCaseInArea {
  id: number;
  caseNo: string;
  status: string;
  lon: number;
  lat: number;
  /** Finest grid code per system key, from the case's stored snapshot. */
  grids: Record<string, string>;
}

/** A case a boundary change re-routed: its finest grid in the changed system before and after. */
export interface ReroutedCase {
  id: number;
  caseNo: string;
  from: string | null;
  to: string | null;
  unitBefore: string;
  unitAfter: string;
}

const finest = (systems: PointAnswer['systems']): Record<string, string> => Object.fromEntries(systems.filter((s) => s.chain[0]).map((s) => [s.system, s.chain[0]!.code]));

/** More open cases than this in one changed area is beyond what one re-routing pass is for. */
const MAX_CASES = 100_000;

/**
 * Open cases and approved boundary changes (issue #14: open incidents whose grid changes are re-routed
 * on apply; issue #11: a case keeps the grid it was reported in, so closed cases are never touched and
 * the log of a re-routed one names the grid it left). Runs on the handle given: inside the changeset's
 * apply transaction it writes in that transaction.
 */
export function createBoundaryRerouting(locate: Locate, options: { classification?: unknown } = {}) {
  const classification = new Classification(options.classification ?? classificationFixture);

  async function openIn(db: Queryable, bbox: Bbox): Promise<IncidentRecord[]> {
    const store = createIncidentStore(db, locate);
    const { items } = await store.list({ status: [...OPEN_STATUSES], bbox, scope: 'all', now: new Date(), limit: MAX_CASES, offset: 0 });
    return items;
  }

  return {
    /** Open cases with their point inside `bbox`, oldest first. */
    async openCasesIn(db: Queryable, bbox: Bbox): Promise<OpenCaseInArea[]> {
      return (await openIn(db, bbox))
        .map((r) => ({ id: r.id, caseNo: r.caseNo, status: r.status, lon: r.lon, lat: r.lat, grids: finest(r.grids) }))
        .sort((a, b) => a.id - b.id);
    },

    /**
     * Locates every open case in `bbox` again; where its grid in `system` changed, stores the new
     * snapshot, re-routes it over the new governance chain (keeping its handling level) and logs
     * `reroute` with the reason `boundary_changed` and the changeset.
     */
    async reroute(db: Queryable, system: string, bbox: Bbox, by: { changeset: number; actor: string }): Promise<ReroutedCase[]> {
      const store = createIncidentStore(db, locate);
      const out: ReroutedCase[] = [];
      const at = new Date();
      for (const r of (await openIn(db, bbox)).sort((a, b) => a.id - b.id)) {
        const answer = await store.locate(r.lon, r.lat);
        const before = finest(r.grids)[system] ?? null;
        const after = finest(answer.systems)[system] ?? null;
        if (before === after) continue;
        const governance = answer.systems.find((s) => s.system === r.system);
        const chain = governance && governance.chain.length > 0 ? governance.chain.map(({ code, name, level, levelName }) => ({ code, name, level, levelName })) : r.chain;
        const category = classification.category(r.category);
        const handlingLevel = Math.min(r.handlingLevel, chain.length - 1);
        const unitAfter = chain[0]!.code;
        await store.update(r.id, { grids: answer.systems, chain, unitCode: unitAfter, handlingLevel, handlingUnit: chain[handlingLevel]!.code });
        await store.appendLog({
          incidentId: r.id,
          at,
          actor: { kind: 'changeset', changeset: by.changeset, name: by.actor },
          action: 'reroute',
          fromStatus: r.status,
          toStatus: r.status,
          note: null,
          location: null,
          photos: [],
          details: {
            reasons: ['boundary_changed'],
            changeset: by.changeset,
            system,
            from: { grid: before, unit: r.unitCode, handlingUnit: r.handlingUnit, category: category.code, route: r.route },
            to: { grid: after, unit: unitAfter, handlingUnit: chain[handlingLevel]!.code, category: category.code, route: r.route },
          },
        });
        out.push({ id: r.id, caseNo: r.caseNo, from: before, to: after, unitBefore: r.unitCode, unitAfter });
      }
      return out;
    },
  };
}

export type BoundaryRerouting = ReturnType<typeof createBoundaryRerouting>;
