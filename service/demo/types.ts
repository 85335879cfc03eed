import type { FeatureCollection, MultiPolygon, Point } from 'geojson';
import type { CodeScheme, Level, OverlapPolicy, SystemKind } from '../kernel/types';

/** A grid system as `POST /systems` takes it, plus its grids, parents before children. */
export interface DemoSystem {
  system: {
    key: string;
    name: string;
    kind: SystemKind;
    description?: string;
    levels: Level[];
    overlapPolicy: OverlapPolicy;
    codeScheme: CodeScheme;
  };
  grids: FeatureCollection<MultiPolygon, GridProperties>;
}

export interface DemoPerson {
  name: string;
  role: 'responsible' | 'helper';
  title: string;
  phone: string;
}

export interface GridProperties {
  code: string;
  name: string;
  level: string;
  parent: string | null;
  type: string;
  people: DemoPerson[];
  households: number;
  population: number;
  valid_from: string;
}

export interface AddressProperties {
  external_id: string;
  kind: 'residential' | 'business' | 'organisation' | 'public';
  door: string;
  street: string;
  building: string;
  households: number;
  population: number;
  /** The governance grid the address falls in (in the clean city). */
  grid: string;
}

/**
 * One address as plain values. The address generator reuses a single record for all of them (12.5
 * million at 100 000 grids): read it, or copy it, before asking for the next.
 */
export interface AddressRecord {
  grid: string;
  /** 1-based sequence inside the grid. */
  index: number;
  kind: AddressProperties['kind'];
  street: string;
  /** Door number on `street`. */
  door: number;
  /** Building number at that door. */
  building: number;
  households: number;
  population: number;
  lon: number;
  lat: number;
}

export interface OutletProperties {
  /** Key of the bank's grid system. */
  bank: string;
  name: string;
  kind: 'outlet' | 'atm';
  /** Code of the bank grid the point lies in: the outlet area for an outlet, the community grid for an ATM. */
  grid: string;
}

export type DefectKind = 'gap' | 'overlap' | 'sliver' | 'outside' | 'invalid';

/** A defect injected into the governance grids; `grids[0]` is the grid whose geometry was changed. */
export interface InjectedDefect {
  kind: DefectKind;
  system: string;
  parent: string;
  grids: string[];
  area_m2: number;
  location: [number, number];
  description: string;
}

export interface DemoCity {
  seed: number;
  systems: DemoSystem[];
  addresses: FeatureCollection<Point, AddressProperties>;
  outlets: FeatureCollection<Point, OutletProperties>;
  defects: InjectedDefect[];
}

/**
 * The city with its addresses as a generator, for writing millions of them without holding them. The
 * generator yields one reused record: turn it into a feature (`addressFeature`) or text (`addressJson`)
 * before taking the next.
 */
export interface DemoCityStream extends Omit<DemoCity, 'addresses'> {
  addressRecords(): Generator<AddressRecord>;
}

export interface GenerateCityOptions {
  seed?: number;
  /** Governance grids (finest level); default 400. */
  grids?: number;
  defects?: boolean;
}
