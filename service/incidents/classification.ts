import { z } from 'zod';
import { unprocessable } from '../errors';
import type { AreaScope } from '../kernel/scope';
import { TIME_LIMIT_TYPES, type TimeLimit } from './calendar';
import { ROUTES, type Route } from './workflow';

/**
 * The configurable classification of incidents (issue #11): major → minor classes in the style of
 * GB/T 30428.2 (事件大类/小类), each minor class with its default route, severity, handling level,
 * department and time limits; plus the policy (cards, duplicates, escalation) and the departments.
 * `handlingLevel` counts levels above the incident's grid (0 = the grid, 1 = its parent …), so no
 * level name is written down (DOMAIN.md: "small problems stay in the grid, ordinary ones in the
 * community, serious ones in the street").
 */
const TimeLimitSchema = z.object({ type: z.enum(TIME_LIMIT_TYPES), amount: z.number().positive() }).strict();

export const SEVERITIES = ['minor', 'ordinary', 'serious', 'major'] as const;
export type Severity = (typeof SEVERITIES)[number];

const ScopeSchema = z.union([z.literal('all'), z.array(z.object({ system: z.string(), code: z.string().optional() }).strict())]);

const MinorSchema = z
  .object({
    code: z.string().regex(/^[0-9A-Za-z]+$/),
    name: z.string().min(1),
    nameEn: z.string().min(1),
    route: z.enum(ROUTES),
    severity: z.enum(SEVERITIES),
    handlingLevel: z.number().int().min(0).max(9),
    department: z.string().nullable(),
    timeLimits: z.object({ handle: TimeLimitSchema }).strict(),
  })
  .strict();

export const ClassificationSchema = z
  .object({
    name: z.string(),
    nameEn: z.string(),
    version: z.number().int(),
    policy: z
      .object({
        /** Share of a time limit used when the yellow card is shown. */
        yellowShare: z.number().gt(0).lt(1),
        /** Time to register, by handling level (the last entry serves every level above). */
        registerWithin: z.array(TimeLimitSchema).min(1),
        verifyWithin: TimeLimitSchema,
        duplicate: z.object({ distanceM: z.number().positive(), windowHours: z.number().positive() }).strict(),
        /** Which routes a red card escalates, and the highest handling level escalation reaches. */
        escalateOnRed: z.object({ routes: z.array(z.enum(ROUTES)), maxLevel: z.number().int().min(0) }).strict(),
      })
      .strict(),
    departments: z.array(z.object({ key: z.string().min(1), name: z.string(), nameEn: z.string(), scope: ScopeSchema }).strict()),
    classes: z.array(z.object({ code: z.string().min(1), name: z.string(), nameEn: z.string(), minor: z.array(MinorSchema).min(1) }).strict()).min(1),
  })
  .strict();

export type ClassificationDoc = z.infer<typeof ClassificationSchema>;
export type MinorClass = z.infer<typeof MinorSchema> & { major: string };
export type Policy = ClassificationDoc['policy'];
export interface Department {
  key: string;
  name: string;
  nameEn: string;
  scope: AreaScope;
}

export class Classification {
  readonly doc: ClassificationDoc;
  readonly policy: Policy;
  private readonly minors = new Map<string, MinorClass>();
  private readonly departments = new Map<string, Department>();

  /**
   * @throws {RangeError} naming the class or department that is inconsistent: a repeated code, a minor
   *   code that does not extend its major's, a department that is not defined
   */
  constructor(input: unknown) {
    const doc = ClassificationSchema.parse(input);
    this.doc = doc;
    this.policy = doc.policy;
    for (const d of doc.departments) {
      if (this.departments.has(d.key)) throw new RangeError(`department "${d.key}" is defined twice`);
      this.departments.set(d.key, d);
    }
    const majors = new Set<string>();
    for (const major of doc.classes) {
      if (majors.has(major.code)) throw new RangeError(`major class "${major.code}" is defined twice`);
      majors.add(major.code);
      for (const minor of major.minor) {
        if (!minor.code.startsWith(major.code)) throw new RangeError(`minor class "${minor.code}" must extend its major class code "${major.code}"`);
        if (this.minors.has(minor.code)) throw new RangeError(`minor class "${minor.code}" is defined twice`);
        if (minor.department !== null && !this.departments.has(minor.department)) {
          throw new RangeError(`minor class "${minor.code}" names department "${minor.department}", which is not defined`);
        }
        this.minors.set(minor.code, { ...minor, major: major.code });
      }
    }
  }

  /** @throws {AppError} 422 `unknown_category` naming the code */
  category(code: string): MinorClass {
    const minor = this.minors.get(code);
    if (!minor) throw unprocessable('unknown_category', `category "${code}" is not a minor class of the classification; see GET /api/incidents/classification`, { field: 'category' });
    return minor;
  }

  /** The name of a class, or null for a code the current classification no longer has (old cases keep theirs). */
  categoryName(code: string): string | null {
    return this.minors.get(code)?.name ?? null;
  }

  /** @throws {AppError} 422 `unknown_department` naming the key */
  department(key: string): Department {
    const d = this.departments.get(key);
    if (!d) throw unprocessable('unknown_department', `department "${key}" is not configured; expected one of ${[...this.departments.keys()].join(', ')}`, { field: 'department' });
    return d;
  }

  registerWithin(handlingLevel: number): TimeLimit {
    const limits = this.policy.registerWithin;
    return limits[Math.min(handlingLevel, limits.length - 1)]!;
  }

  /** Routes a red card escalates. */
  escalatesOnRed(route: Route): boolean {
    return this.policy.escalateOnRed.routes.includes(route);
  }
}
