import { z } from 'zod';
import { SYSTEM_KINDS } from '../kernel/types';

const range = z
  .object({ min: z.number().int().nonnegative().optional(), max: z.number().int().positive().optional() })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must not exceed max' });

export const LevelSchema = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a level key is lower-case letters, digits, "-" or "_", starting with a letter'),
  name: z.string().min(1).max(100),
  /** Position from the top (1 = coarsest); defaults to the level's position in the array (issue #16). */
  order: z.number().int().min(1).max(20).optional(),
  households: range.optional(),
  children: range.optional(),
  codeSegment: z.object({ length: z.number().int().min(1).max(20), charset: z.enum(['digits', 'letters', 'alnum']) }).optional(),
});

const levels = z
  .array(LevelSchema)
  .min(1)
  .max(20)
  .transform((ls) => ls.map((l, i) => ({ ...l, order: l.order ?? i + 1 })))
  .superRefine((ls, ctx) => {
    const keys = new Set<string>();
    const orders = new Set<number>();
    ls.forEach((l, i) => {
      if (keys.has(l.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate level key "${l.key}"` });
      if (orders.has(l.order)) ctx.addIssue({ code: 'custom', path: [i, 'order'], message: `duplicate level order ${l.order}` });
      keys.add(l.key);
      orders.add(l.order);
    });
  });

export const SystemKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a system key is lower-case letters, digits, "-" or "_"');

export const CreateSystemSchema = z.object({
  key: SystemKey,
  name: z.string().min(1).max(200),
  kind: z.enum(SYSTEM_KINDS),
  description: z.string().max(2000).nullable().optional(),
  levels,
  overlapPolicy: z.object({ maxDepth: z.number().int().min(1).max(100) }).default({ maxDepth: 1 }),
  codeScheme: z.object({ type: z.enum(['free', 'letter-number', 'db11-2157', 'cjt-349']) }).default({ type: 'free' }),
});

export const PatchSystemSchema = CreateSystemSchema.omit({ key: true })
  .partial()
  .extend({ version: z.number().int().positive().optional() });

export type CreateSystemInput = z.infer<typeof CreateSystemSchema>;
export type PatchSystemInput = z.infer<typeof PatchSystemSchema>;
