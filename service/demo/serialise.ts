import { externalId } from './addresses';
import type { AddressRecord } from './types';

/**
 * `JSON.stringify(addressFeature(record))`, written out by hand: at 100 000 grids there are 12.5
 * million addresses, and building then stringifying each feature takes about twice as long. Strings are
 * not escaped, which is safe because every string the generator makes is drawn from fixed name lists,
 * digits and codes (a test compares the two).
 */
export function addressJson(r: AddressRecord): string {
  return (
    `{"type":"Feature","properties":{"external_id":"${externalId(r)}","kind":"${r.kind}","door":"${r.street}${r.door}号",` +
    `"street":"${r.street}","building":"${r.building}栋","households":${r.households},"population":${r.population},` +
    `"grid":"${r.grid}"},"geometry":{"type":"Point","coordinates":[${r.lon},${r.lat}]}}`
  );
}

/**
 * A FeatureCollection as text, one feature per line so files stream, diff and load line by line; `extra`
 * holds foreign members (RFC 7946 §6.1) placed before the features. Yields chunks to write in order.
 */
export function* featureCollectionText<T>(features: Iterable<T>, toJson: (feature: T) => string, extra: Record<string, unknown> = {}): Generator<string> {
  const members = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`);
  yield `{"type":"FeatureCollection",${members.join('')}"features":[\n`;
  let first = true;
  for (const feature of features) {
    yield (first ? '' : ',\n') + toJson(feature);
    first = false;
  }
  yield '\n]}\n';
}
