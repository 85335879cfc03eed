export const UNPATCHED: RegExp;
export const PATCHED: RegExp;
export function patchSource(source: string): string;
export function pgliteEntries(): string[];
