import { z } from 'zod';
import type { HttpMethod, RouteDef } from '../http/route';

/** The `info` object of the document (OpenAPI 3.1 §4.8.2). */
export interface ApiInfo {
  title: string;
  version: string;
  description?: string;
}

type JsonSchema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security: Record<string, string[]>[];
  'x-permission'?: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string } | { $ref: string }>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: ApiInfo;
  jsonSchemaDialect: string;
  tags: { name: string }[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, { description: string; content: Record<string, { schema: JsonSchema }> }>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

/** The body of every 4xx/5xx answer (service/http/middleware.ts): a stable code, a message, optional details. */
export const ErrorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().describe('stable, machine-readable error code, e.g. invalid_request or grid_not_found'),
        message: z.string().describe('English sentence naming the offending input'),
        details: z.unknown().optional().describe('structured context, e.g. one entry per offending field or feature'),
      })
      .strict(),
  })
  .strict();

/**
 * `/api/systems/:system/grids/:code` → `/api/systems/{system}/grids/{code}`. @koa/router (path-to-regexp 8)
 * also allows `{…}` optional groups and `*name` wildcards; they become plain parameters, because an
 * OpenAPI path parameter is always required.
 */
export function openApiPath(koaPath: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = koaPath
    .replace(/[{}]/g, '')
    .replace(/[:*]([A-Za-z_$][A-Za-z0-9_$]*)/g, (_, name: string) => {
      params.push(name);
      return `{${name}}`;
    });
  return { path, params };
}

/** JSON Schema 2020-12 of the input side of a zod schema (what a client sends), as OpenAPI 3.1 embeds it. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function objectParameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Parameter[] {
  if (!schema) return [];
  const json = inputSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: rest,
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

function operationId(route: RouteDef): string {
  const words = route.path
    .split('/')
    .filter((s) => s && s !== 'api')
    .map((s) => s.replace(/^[:*]/, 'by-').replace(/[^A-Za-z0-9]+/g, '-'));
  const camel = [route.method, ...words]
    .join('-')
    .split('-')
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1)))
    .join('');
  return camel;
}

const errorResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });

/**
 * The OpenAPI 3.1 document of a route table (issue #16): every RouteDef becomes one operation, with its
 * summary, tag, access (a security requirement plus `x-permission`), its zod request schemas as JSON
 * Schema, and the standard error body. Pure: the same table always gives the same document.
 */
export function openApiDocument(routes: readonly RouteDef[], info: ApiInfo): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const tags = new Set<string>();
  const ids = new Map<string, number>();
  for (const route of routes) {
    const { path, params } = openApiPath(route.path);
    tags.add(route.tag);
    const declared = objectParameters(route.request?.params, 'path');
    const pathParams: Parameter[] = params.map(
      (name) => declared.find((p) => p.name === name) ?? { name, in: 'path', required: true, schema: { type: 'string' } },
    );
    const parameters = [...pathParams, ...objectParameters(route.request?.query, 'query')];
    let id = operationId(route);
    const seen = ids.get(id) ?? 0;
    ids.set(id, seen + 1);
    if (seen > 0) id = `${id}${seen + 1}`;
    const secured = !('public' in route.access);
    const operation: Operation = {
      operationId: id,
      summary: route.summary,
      tags: [route.tag],
      security: secured ? [{ bearerAuth: [] }] : [],
      ...('permission' in route.access ? { 'x-permission': route.access.permission } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      responses: {
        '200': { description: 'success' },
        ...(route.request ? { '400': errorResponse('BadRequest') } : {}),
        ...(secured ? { '401': errorResponse('Unauthorized'), '403': errorResponse('Forbidden') } : {}),
        default: errorResponse('Error'),
      },
    };
    if (route.request?.body) {
      const schema = inputSchema(route.request.body);
      const types = route.request.contentTypes ?? ['application/json'];
      operation.requestBody = { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) };
    } else if (route.request?.contentTypes) {
      // A raw upload (a zipped shapefile, a spreadsheet): no schema beyond its media type.
      operation.requestBody = {
        required: true,
        content: Object.fromEntries(route.request.contentTypes.map((t) => [t, { schema: { type: 'string', contentMediaType: t } }])),
      };
    }
    (paths[path] ??= {})[route.method] = operation;
  }
  const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } };
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: { ErrorBody: inputSchema(ErrorBodySchema) },
      responses: {
        BadRequest: { description: 'invalid input; `details` names each offending field', content: errorContent },
        Unauthorized: { description: 'no valid credentials', content: errorContent },
        Forbidden: { description: 'the caller lacks the permission (x-permission) or the area scope', content: errorContent },
        Error: { description: 'any other error, with its stable code', content: errorContent },
      },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'a token from login or an API key (issue #10)' } },
    },
  };
}

/** Routes of the table that the document lacks, as `METHOD /path`; empty when the document covers them all. */
export function missingRoutes(routes: readonly RouteDef[], doc: Pick<OpenApiDocument, 'paths'>): string[] {
  return routes
    .filter((r) => !doc.paths[openApiPath(r.path).path]?.[r.method])
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
}
