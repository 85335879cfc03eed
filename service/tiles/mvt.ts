import { PbfWriter } from 'pbf';

/** A property value as MVT stores it; null and undefined are left out of the tile. */
export type MvtValue = string | number | boolean | null | undefined;

/**
 * A polygon feature in tile units. `rings` holds every ring of every part, each as flat [x0, y0, x1, y1, …],
 * closed (first point = last), outer rings clockwise on screen and holes counter-clockwise, the
 * orientation geojson-vt's tiles already have.
 */
export interface MvtPolygon {
  id?: number;
  rings: readonly ArrayLike<number>[];
  properties: Readonly<Record<string, MvtValue>>;
}

/** A line feature in tile units: each line of a multi-line as flat [x0, y0, x1, y1, …]. */
export interface MvtLine {
  id?: number;
  lines: readonly ArrayLike<number>[];
  properties: Readonly<Record<string, MvtValue>>;
}

/** A point feature in tile units: one point or several (a multi-point) as flat [x0, y0, x1, y1, …]. */
export interface MvtPoint {
  id?: number;
  points: ArrayLike<number>;
  properties: Readonly<Record<string, MvtValue>>;
}

export type MvtFeature = MvtPolygon | MvtLine | MvtPoint;

export interface MvtLayer {
  name: string;
  extent: number;
  features: readonly MvtFeature[];
}

/**
 * Encodes layers as one Mapbox Vector Tile (spec 2.1) straight from flat coordinate arrays, with no
 * intermediate point objects (vt-pbf builds one object per vertex and takes about twice as long: bench-tiles.ts).
 * Repeated vertices are dropped, and so are rings left with no area, holes that come before any outer
 * ring and lines left with one point, so every polygon written follows spec 4.3.4.4 and every line 4.3.4.3.
 * A feature left with no geometry at all (a grid reaching into the tile buffer by less than a tile unit)
 * is left out, as MapLibre fails on the whole tile when a feature has none; so is a layer left without features.
 * @param layers - layers in drawing order; empty layers are left out
 * @returns the tile, empty when no layer has a feature
 */
export function encodeTile(layers: readonly MvtLayer[]): Uint8Array {
  const pbf = new PbfWriter();
  for (const layer of layers) {
    if (layer.features.length === 0) continue;
    const start = pbf.pos;
    pbf.writeMessage(3, writeLayer, layer);
    if (featuresWritten === 0) pbf.pos = start;
  }
  return pbf.finish();
}

const POINT = 1;
const LINESTRING = 2;
const POLYGON = 3;
const MOVE_TO = 1;
const LINE_TO = 2;
const CLOSE_PATH = 7;

interface LayerState {
  keys: string[];
  keyIndex: Map<string, number>;
  values: Exclude<MvtValue, null | undefined>[];
  valueIndex: Map<unknown, number>;
  feature: MvtFeature;
}

/** Set by the geometry writers: whether the feature being written got any command. */
let geometryWritten = false;
/** Set by writeLayer: how many features of the layer were kept. */
let featuresWritten = 0;

function writeLayer(layer: MvtLayer, pbf: PbfWriter): void {
  pbf.writeVarintField(15, 2);
  pbf.writeStringField(1, layer.name);
  const state: LayerState = { keys: [], keyIndex: new Map(), values: [], valueIndex: new Map(), feature: layer.features[0]! };
  featuresWritten = 0;
  for (const feature of layer.features) {
    state.feature = feature;
    const start = pbf.pos;
    pbf.writeMessage(2, writeFeature, state);
    // Taking the bytes back is cheaper than checking every ring before writing it.
    if (geometryWritten) featuresWritten++;
    else pbf.pos = start;
  }
  for (const key of state.keys) pbf.writeStringField(3, key);
  for (const value of state.values) pbf.writeMessage(4, writeValue, value);
  pbf.writeVarintField(5, layer.extent);
}

function tagsOf(properties: Readonly<Record<string, MvtValue>>, state: LayerState): number[] {
  const tags: number[] = [];
  for (const key in properties) {
    const value = properties[key];
    if (value === null || value === undefined) continue;
    let k = state.keyIndex.get(key);
    if (k === undefined) {
      k = state.keys.push(key) - 1;
      state.keyIndex.set(key, k);
    }
    // Strings and numbers share the map: the string "1" and the number 1 are different keys.
    let v = state.valueIndex.get(value);
    if (v === undefined) {
      v = state.values.push(value) - 1;
      state.valueIndex.set(value, v);
    }
    tags.push(k, v);
  }
  return tags;
}

/** Tags come last (field order is free in protobuf), so a feature without geometry adds no keys or values to the layer. */
function writeFeature(state: LayerState, pbf: PbfWriter): void {
  const { feature } = state;
  if (feature.id !== undefined) pbf.writeVarintField(1, feature.id);
  geometryWritten = false;
  if ('rings' in feature) {
    pbf.writeVarintField(3, POLYGON);
    pbf.writeMessage(4, writePolygon, feature.rings);
  } else if ('lines' in feature) {
    pbf.writeVarintField(3, LINESTRING);
    pbf.writeMessage(4, writeLines, feature.lines);
  } else {
    pbf.writeVarintField(3, POINT);
    pbf.writeMessage(4, writePoints, feature.points);
  }
  if (geometryWritten) pbf.writePackedVarint(2, tagsOf(feature.properties, state));
}

const command = (id: number, count: number) => (count << 3) | id;
const zigzag = (n: number) => (n << 1) ^ (n >> 31);

/** The cursor is shared across rings: MVT coordinates are deltas from the previous command's end. */
function writePolygon(rings: readonly ArrayLike<number>[], pbf: PbfWriter): void {
  const cursor = { x: 0, y: 0 };
  let outerWritten = false;
  for (const ring of rings) {
    const { points, area } = distinctPoints(ring);
    // A ring with no area has collapsed (its holes, inside it, have too); a hole before any outer ring
    // would make decoders take holes for outer rings (they classify by the first ring's orientation).
    if (area === 0 || (area < 0 && !outerWritten)) continue;
    outerWritten = true;
    writePath(points, cursor, pbf);
    pbf.writeVarint(command(CLOSE_PATH, 1));
  }
}

/** All points after one MoveTo (spec 4.3.4.2: a multi-point is one MoveTo with a count above 1). */
function writePoints(points: ArrayLike<number>, pbf: PbfWriter): void {
  const n = points.length >> 1;
  if (n === 0) return;
  geometryWritten = true;
  pbf.writeVarint(command(MOVE_TO, n));
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    pbf.writeVarint(zigzag(x - cx));
    pbf.writeVarint(zigzag(y - cy));
    cx = x;
    cy = y;
  }
}

/** Repeated vertices are dropped and lines left with one point are skipped (spec 4.3.4.3 needs two). */
function writeLines(lines: readonly ArrayLike<number>[], pbf: PbfWriter): void {
  const cursor = { x: 0, y: 0 };
  for (const line of lines) {
    const points = distinctLinePoints(line);
    if (points >= 2) writePath(points, cursor, pbf);
  }
}

/** One MoveTo and a LineTo over the first `points` points in `scratch`, as deltas from `cursor`. */
function writePath(points: number, cursor: { x: number; y: number }, pbf: PbfWriter): void {
  geometryWritten = true;
  pbf.writeVarint(command(MOVE_TO, 1));
  for (let i = 0; i < points; i++) {
    if (i === 1) pbf.writeVarint(command(LINE_TO, points - 1));
    const x = scratch[2 * i]!;
    const y = scratch[2 * i + 1]!;
    pbf.writeVarint(zigzag(x - cursor.x));
    pbf.writeVarint(zigzag(y - cursor.y));
    cursor.x = x;
    cursor.y = y;
  }
}

let scratch = new Int32Array(1024);

/** Copies a line's distinct consecutive points into `scratch` and returns their count. */
function distinctLinePoints(line: ArrayLike<number>): number {
  if (scratch.length < line.length) scratch = new Int32Array(line.length * 2);
  let n = 0;
  for (let i = 0; i < line.length; i += 2) {
    const x = line[i]!;
    const y = line[i + 1]!;
    if (n > 0 && x === scratch[2 * n - 2] && y === scratch[2 * n - 1]) continue;
    scratch[2 * n] = x;
    scratch[2 * n + 1] = y;
    n++;
  }
  return n;
}

/**
 * Copies a closed ring's distinct consecutive points, without the closing point, into `scratch` and
 * returns their count and the ring's area by the surveyor's formula in tile coordinates (y down),
 * positive for an outer ring per spec 4.3.4.4.
 */
function distinctPoints(ring: ArrayLike<number>): { points: number; area: number } {
  if (scratch.length < ring.length) scratch = new Int32Array(ring.length * 2);
  let n = 0;
  for (let i = 0; i < ring.length; i += 2) {
    const x = ring[i]!;
    const y = ring[i + 1]!;
    if (n > 0 && x === scratch[2 * n - 2] && y === scratch[2 * n - 1]) continue;
    scratch[2 * n] = x;
    scratch[2 * n + 1] = y;
    n++;
  }
  while (n > 1 && scratch[2 * n - 2] === scratch[0] && scratch[2 * n - 1] === scratch[1]) n--;
  let area = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) area += scratch[2 * j]! * scratch[2 * i + 1]! - scratch[2 * i]! * scratch[2 * j + 1]!;
  return { points: n, area };
}

function writeValue(value: string | number | boolean, pbf: PbfWriter): void {
  if (typeof value === 'string') pbf.writeStringField(1, value);
  else if (typeof value === 'boolean') pbf.writeBooleanField(7, value);
  else if (!Number.isInteger(value)) pbf.writeDoubleField(3, value);
  else if (value < 0) pbf.writeSVarintField(6, value);
  else pbf.writeVarintField(5, value);
}
