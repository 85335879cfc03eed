/**
 * Timing helpers shared by the benchmark scripts (STYLE.md: warm-up, repetitions, median, a result sink;
 * figures printed with the machine, Node version and load average). Small on purpose:
 *
 *   const t = await measure(() => work(), { warmup: 1, runs: 5 });   // → { median, p99, min, max, runs }
 *   console.log(header('PostgreSQL 15.18 + PostGIS 3.3.2'));
 *   console.log(table(['case', 'ms'], [['cold', ms(t.median)]]));
 *
 * `options()` reads `--name value` pairs from the command line with defaults.
 */
import os from 'node:os';
import knexFactory from 'knex';
import { withDatabase } from '../service/db/engine';

/** Summary of repeated timings, in the unit of the samples (milliseconds from `measure`). */
export interface Timing {
  median: number;
  p99: number;
  min: number;
  max: number;
  runs: number;
  samples: number[];
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0–100) by the nearest-rank method: p99 of 100 samples is the 99th smallest. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError('percentile of no samples');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function summarize(samples: readonly number[]): Timing {
  return { median: median(samples), p99: percentile(samples, 99), min: Math.min(...samples), max: Math.max(...samples), runs: samples.length, samples: [...samples] };
}

let sunk = 0;
/** Keeps a result alive so the JIT cannot drop the work that made it. */
export function sink(value: unknown): void {
  if (typeof value === 'number') sunk += value;
  else if (value && typeof value === 'object' && 'length' in value) sunk += Number((value as { length: unknown }).length) || 0;
  else sunk += value ? 1 : 0;
  if (sunk === -1) console.log(sunk);
}

/**
 * Runs `fn` `warmup` times untimed, then `runs` times timed (milliseconds); each result goes to the sink.
 * `before` runs untimed ahead of every call (e.g. to drop a cache for a cold measure).
 */
export async function measure(
  fn: () => unknown,
  opts: { warmup?: number; runs?: number; before?: () => unknown } = {},
): Promise<Timing> {
  const { warmup = 1, runs = 5, before } = opts;
  for (let i = 0; i < warmup; i++) {
    await before?.();
    sink(await fn());
  }
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await before?.();
    const started = performance.now();
    sink(await fn());
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

/** Milliseconds with three significant digits (0.0421, 4.21, 42.1, 421, 4,210). */
export function ms(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en');
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  if (n >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** "1.8×": how many times faster `ours` is than `theirs` (both durations). */
export function ratio(theirs: number, ours: number): string {
  return `${(theirs / ours).toFixed(1)}×`;
}

/** The 1-, 5- and 15-minute load averages, e.g. "3.1 2.4 1.9". */
export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(1)).join(' ');
}

/** One line naming the machine, Node, the database when given, and the load average now. */
export function header(database?: string): string {
  const cpus = os.cpus();
  return [
    `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
    `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `Node ${process.version}`,
    ...(database ? [database] : []),
    `load average ${loadAverage()} (${os.cpus().length} cores)`,
  ].join(', ');
}

/** A markdown table; columns whose header ends in a space-free unit or number are right-aligned by `right`. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[], right: readonly number[] = []): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  const rule = headers.map((_, i) => (right.includes(i) ? '---:' : '---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/** `--name value` pairs from the command line, each defaulting to `defaults[name]`; unknown names are an error. */
export function options<T extends Record<string, string | number>>(defaults: T, argv: readonly string[] = process.argv.slice(2)): T {
  const out: Record<string, string | number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(.+)$/.exec(argv[i]!);
    if (!m) continue;
    const name = m[1]!;
    if (!(name in defaults)) throw new Error(`unknown option --${name}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(', ')}`);
    const value = argv[++i] ?? '';
    out[name] = typeof defaults[name] === 'number' ? Number(value) : value;
  }
  return out as T;
}

/**
 * A database of the benchmark's own on the PostgreSQL server at `url` (created fresh, dropped by `drop()`),
 * so a run never meets another's migrations or data.
 */
export async function scratchDatabase(url: string, label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const name = `gridatlas_bench_${label}_${process.pid}`;
  await admin.raw(`drop database if exists ${name} with (force)`);
  await admin.raw(`create database ${name}`);
  return {
    url: withDatabase(url, name),
    async drop() {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}
