// Worker bootstrap: the service runs TypeScript through tsx (npm start, vitest); a worker thread needs
// the loader registered in its own thread before it can import the TypeScript worker.
import { setPriority } from 'node:os';
import { register } from 'tsx/esm/api';

// Background work gives way to the HTTP thread (issue #15: tile p99 while a validation runs).
// On Linux the nice value is per thread, so this lowers only this worker; elsewhere it would lower the
// whole process.
if (process.platform === 'linux') setPriority(0, 19);
register();
await import('./validate-worker.ts');
