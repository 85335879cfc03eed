import { parentPort, workerData } from 'node:worker_threads';
import { generateCity } from './index';
import type { GenerateCityOptions } from './types';

// One city, posted back whole; the thread then ends.
parentPort!.postMessage(generateCity(workerData as GenerateCityOptions));
