// Worker bootstrap: the service runs TypeScript through tsx; a worker thread needs the loader registered
// in its own thread before it can import the TypeScript generator (as geometry/partition's worker does).
import { register } from 'tsx/esm/api';

register();
await import('./generate-worker.ts');
