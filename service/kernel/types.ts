import type { MultiPolygon, Polygon } from 'geojson';

export const SYSTEM_KINDS = ['governance', 'party', 'emergency', 'fire', 'health', 'property', 'bank', 'other'] as const;
export type SystemKind = (typeof SYSTEM_KINDS)[number];

/** One level of a grid system; `order` 1 is the top. Levels are data per system (DOMAIN.md). */
export interface Level {
  key: string;
  name: string;
  order: number;
  /** Expected households per grid at this level, e.g. urban 200–500 (DOMAIN.md "Size and staffing rules"). */
  households?: { min?: number; max?: number };
  /** Expected number of children per grid of this level (fan-out), where configured. */
  children?: { min?: number; max?: number };
  /** Characters this level appends to its parent's code; see domain/codes.ts. */
  codeSegment?: { length: number; charset: 'digits' | 'letters' | 'alnum' };
}

/** `maxDepth` 1 means siblings must not overlap; bank grids may allow 2 or more (DOMAIN.md "Bank grids"). */
export interface OverlapPolicy {
  maxDepth: number;
}

export type CodeSchemeType = 'free' | 'letter-number' | 'db11-2157' | 'cjt-349';
export interface CodeScheme {
  type: CodeSchemeType;
}

export interface GridSystem {
  key: string;
  name: string;
  kind: SystemKind;
  description: string | null;
  levels: Level[];
  overlapPolicy: OverlapPolicy;
  codeScheme: CodeScheme;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Person {
  name: string;
  role: 'responsible' | 'helper';
  title?: string;
  phone?: string;
  photoUrl?: string;
}

/** A problem found in a stored geometry: the geometry is kept as given and flagged (issue #2). */
export interface GeometryIssue {
  reason: string;
  location: [number, number] | null;
  repaired?: boolean;
}

export interface Grid {
  system: string;
  code: string;
  parentCode: string | null;
  level: string;
  name: string;
  type: string | null;
  people: Person[];
  attributes: Record<string, unknown>;
  geometry: MultiPolygon | Polygon;
  geometryIssues: GeometryIssue[];
  validFrom: string | null;
  validTo: string | null;
  version: number;
  updatedAt: string;
}

/** A system as stored: its definition plus the row id stores join on. */
export interface StoredSystem extends GridSystem {
  id: number;
}

/** A grid as written by import or edit (geometry already normalised by the input checks). */
export type GridWrite = Omit<Grid, 'system' | 'version' | 'updatedAt'>;

/** [minLon, minLat, maxLon, maxLat] in EPSG:4326. */
export type Bbox = [number, number, number, number];

/** The box around two boxes; null stands for "nothing" on either side. */
export function unionBbox(a: Bbox | null, b: Bbox | null): Bbox | null {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}
