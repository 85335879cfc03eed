import { Worker } from 'node:worker_threads';
import type { DemoCity, GenerateCityOptions } from './types';

/**
 * Generates the demo city on a worker thread: main.ts starts it before opening the database, so on a
 * fresh start the generator (about a second of CPU) runs on the second core while PGlite unpacks
 * PostGIS on the first (issue #15: first start under 20 s). `cancel` ends it when the database turns out
 * not to be empty.
 */
export function generateCityInWorker(options: GenerateCityOptions): { city: Promise<DemoCity>; cancel: () => Promise<void> } {
  const worker = new Worker(new URL('./generate-worker-entry.mjs', import.meta.url), { workerData: options });
  const city = new Promise<DemoCity>((resolve, reject) => {
    worker.once('message', (c: DemoCity) => resolve(c));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the demo city generator stopped (exit code ${code}) before posting the city`)));
  });
  // A cancelled generation is not an error anyone waits for.
  city.catch(() => undefined);
  return { city, cancel: async () => void (await worker.terminate()) };
}
