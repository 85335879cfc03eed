import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShapefileZip, readShapefileZipFile, writeShapefileZip } from '../formats/shapefile';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { smallCity, smallSystem } from '../test/fixtures';

/** Beside the shapefile, an incompressible 24 MB entry (photos, a PDF…), as surveyors' zips often carry. */
const EXTRA_BYTES = 24 * 1024 * 1024;

async function bigShapefileZip(): Promise<Buffer> {
  const { features } = { features: smallCity() };
  const small = await writeShapefileZip({ type: 'FeatureCollection', features: features as never }, { name: '网格', encoding: 'gbk' });
  const zip = await JSZip.loadAsync(small);
  zip.file('附件/现场照片.bin', randomBytes(EXTRA_BYTES), { compression: 'STORE' });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

// Issue #16: a shapefile upload is spooled to disk and read entry by entry, not unzipped whole in memory.
describe('zipped shapefile read from disk', () => {
  it('reads the same features as from memory, touching only the shapefile entries of a multi-MB zip', async () => {
    const zip = await bigShapefileZip();
    expect(zip.length).toBeGreaterThan(EXTRA_BYTES);
    const file = path.join(os.tmpdir(), `gridatlas-shp-${process.pid}.zip`);
    fs.writeFileSync(file, zip);
    try {
      const before = process.memoryUsage();
      const fromDisk = await readShapefileZipFile(file);
      const after = process.memoryUsage();
      expect(fromDisk).toEqual(await readShapefileZip(zip));
      expect(fromDisk.encoding).toBe('gbk');
      // The 24 MB entry was never read into a buffer: Buffers live outside the V8 heap (arrayBuffers).
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(EXTRA_BYTES / 4);
      // The reader works on the file: truncating the unread entry's bytes breaks nothing it needs.
      const damaged = Buffer.from(zip);
      const at = damaged.indexOf(Buffer.from('附件/现场照片.bin'));
      damaged.fill(0, at + 64, at + 64 + 1024 * 1024);
      fs.writeFileSync(file, damaged);
      expect((await readShapefileZipFile(file)).features).toEqual(fromDisk.features);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('says what is wrong with a file that is not a zip', async () => {
    const file = path.join(os.tmpdir(), `gridatlas-notzip-${process.pid}.zip`);
    fs.writeFileSync(file, 'PK\u0003\u0004 but nothing more');
    try {
      await expect(readShapefileZipFile(file)).rejects.toMatchObject({ code: 'zip_invalid' });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe.each(engines())('shapefile upload of a multi-MB zip on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
  });
  afterAll(async () => t?.close());

  it('imports the shapefile from the spooled upload and leaves no temporary file behind', async () => {
    const spooled = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('gridatlas-upload-'));
    const left = new Set(spooled());
    await t.request.post(`/api/systems/${smallSystem.key}/import`).set('content-type', 'application/zip').send(await bigShapefileZip()).expect(200);
    const grids = (await t.request.get(`/api/systems/${smallSystem.key}/grids`).expect(200)).body.features;
    expect(grids.map((g: { properties: { code: string } }) => g.properties.code).sort()).toEqual(['D', 'D01', 'D01A', 'D01B', 'D02', 'D02A', 'D02B']);
    expect(spooled().filter((f) => !left.has(f))).toEqual([]);
  });
});
