import { badRequest } from '../kernel/errors';

/** What the reader found: a feature of the collection, or another top-level member (e.g. `crs`). */
export type GeoJsonEvent = { kind: 'feature'; index: number; feature: unknown } | { kind: 'member'; name: string; value: unknown };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * Reads a GeoJSON FeatureCollection (or a bare array of features, or one Feature) as it streams in,
 * parsing one feature at a time so a million features are never held at once. Top-level members other
 * than `features` are reported as they complete, so a legacy `crs` member can be checked.
 * @param stream chunks of UTF-8 bytes (a BOM is skipped) or text
 * @returns features numbered from 1, and top-level members
 * @throws AppError 400 invalid_geojson when the text is not a FeatureCollection, naming where it broke
 */
export async function* readGeoJson(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<GeoJsonEvent> {
  const decoder = new TextDecoder('utf-8');
  const scanner = new GeoJsonScanner();
  for await (const chunk of stream) {
    yield* scanner.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* scanner.feed(decoder.decode());
  yield* scanner.end();
}

/**
 * A push scanner over JSON text: it tracks strings and nesting only, and cuts out (a) each element of
 * the features array and (b) each other member value of the root object, for JSON.parse.
 */
class GeoJsonScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private rootIsArray = false;
  /** Depth of the elements that are features: 1 for a root array, 2 inside the `features` member. */
  private featureDepth = -1;
  private expectKey = true;
  private keyParts: string[] | null = null;
  private key = '';
  /** The text being cut out across chunks; `kind` says what it is. */
  private parts: string[] | null = null;
  private kind: 'feature' | 'member' = 'feature';
  private from = 0;
  private features = 0;
  private readonly members: Record<string, unknown> = {};
  private offset = 0;

  *feed(text: string): Generator<GeoJsonEvent> {
    this.from = 0;
    let keyFrom = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyParts) {
            this.keyParts.push(text.slice(keyFrom, i + 1));
            this.key = JSON.parse(this.keyParts.join('')) as string;
            this.keyParts = null;
          }
        }
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && !this.rootIsArray && this.expectKey) {
          this.keyParts = [];
          keyFrom = i;
        }
        continue;
      }
      if (!this.started) {
        if (c <= 0x20 || c === 0xfeff) continue;
        if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) throw this.error(i, 'expected a GeoJSON FeatureCollection: the text does not start with "{" or "["');
        this.started = true;
        this.rootIsArray = c === OPEN_ARRAY;
        if (this.rootIsArray) this.featureDepth = 1;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1 && !this.rootIsArray) {
        // Root object: `"key": value` pairs; a value other than the features array is cut out whole.
        if (c === COLON) {
          this.expectKey = false;
          if (this.key === 'features') this.featureDepth = 2;
          else this.start(i + 1, 'member');
          continue;
        }
        if (c === COMMA || c === CLOSE_OBJECT) {
          if (this.featureDepth === 2) throw this.error(i, 'FeatureCollection.features must be an array');
          if (this.parts && this.kind === 'member') yield this.finishMember(text, i);
          this.expectKey = true;
        }
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.depth === this.featureDepth && !this.parts) {
          if (c !== OPEN_OBJECT) throw this.error(i, `feature ${this.features + 1} is an array, not a Feature object`);
          this.start(i, 'feature');
        }
        this.depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.depth--;
        if (this.depth < 0) throw this.error(i, 'a closing bracket has no opening one');
        if (this.depth === this.featureDepth && this.parts && this.kind === 'feature') {
          const feature = this.finish(text, i + 1);
          yield { kind: 'feature', index: ++this.features, feature };
        } else if (this.depth === this.featureDepth - 1 && c === CLOSE_ARRAY) {
          this.featureDepth = -1;
        }
      }
    }
    if (this.parts) this.parts.push(text.slice(this.from));
    if (this.keyParts) this.keyParts.push(text.slice(keyFrom));
    this.offset += n;
  }

  *end(): Generator<GeoJsonEvent> {
    if (!this.started) throw badRequest('invalid_geojson', 'the GeoJSON body is empty');
    if (this.depth !== 0 || this.inString) throw badRequest('invalid_geojson', 'the GeoJSON text ends before the collection is closed');
    if (this.features === 0 && this.members.type === 'Feature') {
      const { properties = null, geometry = null } = this.members;
      yield { kind: 'feature', index: ++this.features, feature: { type: 'Feature', properties, geometry } };
    } else if (!this.rootIsArray && this.members.type !== 'FeatureCollection') {
      throw badRequest('invalid_geojson', `expected a GeoJSON FeatureCollection, got type ${JSON.stringify(this.members.type ?? null)}`);
    }
  }

  private start(at: number, kind: 'feature' | 'member') {
    this.parts = [];
    this.from = at;
    this.kind = kind;
  }

  private finish(text: string, end: number): unknown {
    const parts = this.parts!;
    parts.push(text.slice(this.from, end));
    this.parts = null;
    try {
      return JSON.parse(parts.join(''));
    } catch (err) {
      const what = this.kind === 'feature' ? `feature ${this.features + 1}` : `member "${this.key}"`;
      throw badRequest('invalid_geojson', `${what} is not valid JSON: ${(err as Error).message}`);
    }
  }

  private finishMember(text: string, end: number): GeoJsonEvent {
    const value = this.finish(text, end);
    this.members[this.key] = value;
    return { kind: 'member', name: this.key, value };
  }

  private error(at: number, message: string) {
    return badRequest('invalid_geojson', `${message} (character ${this.offset + at + 1})`);
  }
}
