// Worker bootstrap, as service/geometry/partition/validate-worker-entry.mjs: the service runs TypeScript
// through tsx, and a worker thread needs the loader registered in its own thread first.
import { register } from 'tsx/esm/api';

register();
await import('./overlay-worker.ts');
