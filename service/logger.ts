export type LogLevel = 'silent' | 'error' | 'info' | 'debug';

export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, info: 2, debug: 3 };

/** One JSON line per event on stderr (info and debug on stdout), so logs stay machine-readable. */
export function createLogger(level: LogLevel): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>, fields: Record<string, unknown>, message: string) => {
    if (RANK[at] > RANK[level]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields });
    (at === 'error' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    error: (f, m) => write('error', f, m),
    info: (f, m) => write('info', f, m),
    debug: (f, m) => write('debug', f, m),
  };
}
