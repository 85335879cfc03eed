/**
 * Writes the demo city as files: one GeoJSON per grid system (its definition as the foreign member
 * "system"), addresses.geojson, outlets.geojson, defects.json and city.json listing them.
 *
 *   npx tsx scripts/generate-city.ts [--grids 400] [--seed 1] [--defects] [--out data/demo-city]
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addressJson, featureCollectionText, generateCityStream, type AddressRecord } from '../service/demo/index';

/** Text is encoded into a buffer of this size and written when it fills: 12.5 million addresses make 3.5 GB. */
const BUFFER_BYTES = 4 << 20;

function writeText(path: string, chunks: Iterable<string>): void {
  const fd = openSync(path, 'w');
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;
  try {
    for (const chunk of chunks) {
      // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
      if (used + 3 * chunk.length > BUFFER_BYTES) {
        writeSync(fd, buffer, 0, used);
        used = 0;
      }
      if (3 * chunk.length > BUFFER_BYTES) writeSync(fd, chunk);
      else used += buffer.write(chunk, used);
    }
    writeSync(fd, buffer, 0, used);
  } finally {
    closeSync(fd);
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      grids: { type: 'string', default: '400' },
      seed: { type: 'string', default: '1' },
      defects: { type: 'boolean', default: false },
      out: { type: 'string', default: 'data/demo-city' },
    },
  });
  const options = { grids: Number(values.grids), seed: Number(values.seed), defects: values.defects };
  const started = performance.now();
  const city = generateCityStream(options);
  mkdirSync(values.out, { recursive: true });
  const files: string[] = [];
  for (const { system, grids } of city.systems) {
    const file = `${system.key}.geojson`;
    writeText(join(values.out, file), featureCollectionText(grids.features, (f) => JSON.stringify(f), { system }));
    files.push(file);
  }
  writeText(join(values.out, 'outlets.geojson'), featureCollectionText(city.outlets.features, (f) => JSON.stringify(f)));
  let addresses = 0;
  const line = (record: AddressRecord) => {
    addresses++;
    return addressJson(record);
  };
  writeText(join(values.out, 'addresses.geojson'), featureCollectionText(city.addressRecords(), line));
  writeFileSync(join(values.out, 'defects.json'), `${JSON.stringify(city.defects, null, 2)}\n`);
  const manifest = { options, systems: files, addresses: 'addresses.geojson', outlets: 'outlets.geojson', defects: 'defects.json' };
  writeFileSync(join(values.out, 'city.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const grids = city.systems.reduce((n, s) => n + s.grids.features.length, 0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${values.out}: ${city.systems.length} systems, ${grids} grids, ${addresses} addresses, ${city.outlets.features.length} outlets, ${city.defects.length} defects in ${seconds} s`);
}

try {
  main();
} catch (err) {
  console.error(`generate-city: ${(err as Error).message}\nusage: npx tsx scripts/generate-city.ts [--grids 400] [--seed 1] [--defects] [--out data/demo-city]`);
  process.exitCode = 1;
}
