import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import type { PartitionSystem } from '../partition/index';
import { checkBank, type BankCheck, type BankGrid } from './bank-check';
import { buildOverlayReport } from './report';
import { DEFAULT_POLICY, type OverlayPolicy, type OverlayReport } from './types';

type Shape = Polygon | MultiPolygon;
type Props = Record<string, unknown>;

/** An overlay case: a territory, its units and the systems over it (fixtures/overlays/<case>/input.json). */
export interface OverlayCase {
  description: string;
  kind?: 'overlay';
  territory: Feature<Shape, Props>;
  units: FeatureCollection<Shape, Props>;
  systems: { key: string; name: string; grids: FeatureCollection<Shape, Props> }[];
  policy?: Partial<OverlayPolicy>;
}

/** A bank case: one bank's grids checked against the units. */
export interface BankCase {
  description: string;
  kind: 'bank';
  system: PartitionSystem;
  units: FeatureCollection<Shape, Props>;
  grids: FeatureCollection<Shape, Props>;
  nestLevel?: string;
}

/** Runs a fixture case: the overlay report, or the bank check. */
export function runCase(input: OverlayCase | BankCase): OverlayReport | BankCheck {
  const units = input.units.features.map((f) => ({ code: String(f.properties.code), name: String(f.properties.name), type: (f.properties.type as string) ?? null, geometry: f.geometry }));
  if (input.kind === 'bank') {
    const grids: BankGrid[] = input.grids.features.map((f) => ({
      code: String(f.properties.code),
      parentCode: (f.properties.parent as string | null) ?? null,
      level: String(f.properties.level),
      name: String(f.properties.name),
      people: (f.properties.people as BankGrid['people']) ?? [],
      geometry: f.geometry,
    }));
    return checkBank(input.system, grids, units, { nestLevel: input.nestLevel });
  }
  const t = input.territory;
  return buildOverlayReport({
    territory: { system: String(t.properties.system), code: String(t.properties.code), name: String(t.properties.name), geometry: t.geometry },
    units,
    systems: input.systems.map((s) => ({
      key: s.key,
      name: s.name,
      grids: s.grids.features.map((f) => ({ system: s.key, code: String(f.properties.code), name: String(f.properties.name), geometry: f.geometry })),
    })),
    policy: { ...DEFAULT_POLICY, ...input.policy },
  });
}
