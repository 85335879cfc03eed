import http from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import supertest from 'supertest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CreateSystemSchema, PatchSystemSchema } from '../systems';
import { errorMiddleware } from '../http/middleware';
import { Bbox, Flag } from '../http/params';
import { mountRoutes, type Authorizer, type RouteDef } from '../http/route';
import { createLogger } from '../logger';
import { openApiRoutes } from './docs-routes';
import { missingRoutes, openApiDocument, openApiPath } from './openapi';

const ok: RouteDef['handler'] = (ctx) => {
  ctx.body = { ok: true };
};
const SystemParams = z.object({ system: z.string().describe('system key') }).strict();
const GridParams = z.object({ system: z.string(), code: z.string().max(64) }).strict();

/** A table shaped like the real one (the lead feeds the app's own table in once every router is a RouteDef). */
const sample: RouteDef[] = [
  { method: 'get', path: '/api/systems', summary: 'List grid systems', tag: 'systems', access: { public: true }, handler: ok },
  {
    method: 'post',
    path: '/api/systems',
    summary: 'Create a grid system',
    tag: 'systems',
    access: { permission: 'systems:write' },
    request: { body: CreateSystemSchema },
    handler: ok,
  },
  {
    method: 'patch',
    path: '/api/systems/:system',
    summary: 'Change a grid system',
    tag: 'systems',
    access: { permission: 'systems:write', scope: (ctx) => ({ system: ctx.params.system! }) },
    request: { params: SystemParams, body: PatchSystemSchema },
    handler: ok,
  },
  {
    method: 'get',
    path: '/api/systems/:system/grids',
    summary: 'Grids of a system as GeoJSON',
    tag: 'grids',
    access: { permission: 'grids:read' },
    request: { params: SystemParams, query: z.object({ level: z.string().optional(), bbox: Bbox.optional(), withPeople: Flag }).strict() },
    handler: ok,
  },
  {
    method: 'delete',
    path: '/api/systems/:system/grids/:code',
    summary: 'Delete a grid',
    tag: 'grids',
    access: { permission: 'grids:write' },
    request: { params: GridParams },
    handler: ok,
  },
  {
    method: 'post',
    path: '/api/systems/:system/import',
    summary: 'Import grids from a zipped shapefile',
    tag: 'grids',
    access: { permission: 'grids:write' },
    // Path parameters not declared by a schema still appear, as strings.
    request: { contentTypes: ['application/zip', 'application/geo+json'] },
    handler: ok,
  },
];

async function validate(doc: unknown) {
  const validator = new Validator();
  const result = await validator.validate(doc as Parameters<Validator["validate"]>[0]);
  return { result, validator };
}

describe('OpenAPI document from the route table', () => {
  const info = { title: 'gridatlas', version: '0.1.0' };

  it('converts router paths to OpenAPI templates', () => {
    expect(openApiPath('/api/systems/:system/grids/:code')).toEqual({ path: '/api/systems/{system}/grids/{code}', params: ['system', 'code'] });
    expect(openApiPath('/tiles/:system/:z/:x/:y.mvt').path).toBe('/tiles/{system}/{z}/{x}/{y}.mvt');
  });

  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    const doc = openApiDocument(sample, info);
    const { result, validator } = await validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
    // The validator does reject a broken document: a path parameter without `in`.
    const broken = structuredClone(doc);
    delete (broken.paths['/api/systems/{system}']!.patch!.parameters![0] as { in?: string }).in;
    expect((await validate(broken)).result.valid).toBe(false);
  });

  it('carries access, input schemas and the standard error body', () => {
    const doc = openApiDocument(sample, info);
    expect(doc.paths['/api/systems']!.get!.security).toEqual([]);
    const create = doc.paths['/api/systems']!.post!;
    expect(create['x-permission']).toBe('systems:write');
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    const body = create.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['key', 'name', 'kind', 'levels', 'overlapPolicy']));
    // io: input — defaulted fields are optional for the client.
    expect(body.required).toEqual(expect.arrayContaining(['key', 'name', 'kind', 'levels']));
    expect(body.required).not.toContain('overlapPolicy');
    const list = doc.paths['/api/systems/{system}/grids']!.get!;
    expect(list.parameters!.map((p) => `${p.in}:${p.name}:${p.required}`)).toEqual([
      'path:system:true',
      'query:level:false',
      'query:bbox:false',
      'query:withPeople:false',
    ]);
    expect(list.parameters![0]!.description).toBe('system key');
    const upload = doc.paths['/api/systems/{system}/import']!.post!;
    expect(Object.keys(upload.requestBody!.content)).toEqual(['application/zip', 'application/geo+json']);
    expect(upload.parameters).toEqual([{ name: 'system', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(doc.components.schemas.ErrorBody).toMatchObject({
      type: 'object',
      required: ['error'],
      properties: { error: { required: ['code', 'message'] } },
    });
    expect(new Set(Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId))).size).toBe(sample.length);
  });

  it('names every route of the table that the document lacks', () => {
    const doc = openApiDocument(sample, info);
    expect(missingRoutes(sample, doc)).toEqual([]);
    const { '/api/systems/{system}/grids/{code}': _dropped, ...paths } = doc.paths;
    expect(missingRoutes(sample, { paths })).toEqual(['DELETE /api/systems/:system/grids/:code']);
    const added: RouteDef = { method: 'put', path: '/api/systems/:system/grids/:code', summary: 'x', tag: 'grids', access: { public: true }, handler: ok };
    expect(missingRoutes([...sample, added], doc)).toEqual(['PUT /api/systems/:system/grids/:code']);
  });

  it('serves the document and an offline docs page whose every file is served here', async () => {
    const passThrough: Authorizer = () => (_ctx, next) => next();
    const table: RouteDef[] = [];
    table.push(...sample, ...openApiRoutes(() => table, info));
    const app = new Koa();
    app.use(errorMiddleware(createLogger('silent')));
    app.use(mountRoutes(new Router(), table, passThrough).routes());
    const server = http.createServer(app.callback());
    try {
      const request = supertest(server);
      const served = (await request.get('/api/openapi.json').expect(200).expect('content-type', /json/)).body;
      expect(missingRoutes(table, served)).toEqual([]);
      expect((await validate(served)).result.valid).toBe(true);
      const page = (await request.get('/api/docs').expect(200).expect('content-type', /html/)).text;
      expect(page).not.toMatch(/https?:\/\//);
      const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(refs).toHaveLength(4);
      for (const ref of refs) {
        const res = await request.get(ref).expect(200);
        expect(Number(res.headers['content-length'] ?? (res.text ?? res.body).length)).toBeGreaterThan(0);
      }
      expect((await request.get('/api/docs/init.js').expect(200)).text).toContain("'/api/openapi.json'");
      expect((await request.get('/api/docs/package.json').expect(400)).body.error.details[0].field).toBe('file');
    } finally {
      server.close();
    }
  });
});
