import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import type { RouteDef } from '../http/route';
import { openApiDocument, type ApiInfo, type OpenApiDocument } from './openapi';

const swaggerDist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The swagger-ui files the docs page loads, from node_modules: the page works offline (no CDN). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

// The initialiser is a file of its own, not an inline script, so the page also runs under a CSP without
// 'unsafe-inline' (issue #10).
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gridatlas API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

const DocFile = z.object({ file: z.enum(['init.js', ...Object.keys(ASSETS)] as [string, ...string[]]) }).strict();

const cache = new Map<string, Buffer>();
function asset(file: string): Buffer {
  let body = cache.get(file);
  if (!body) cache.set(file, (body = fs.readFileSync(path.join(swaggerDist, file))));
  return body;
}

/**
 * GET /api/openapi.json (the document of `routes()`, these three routes included) and the offline docs page
 * at /api/docs. `routes` is a function so the document is built from the app's whole table, once, on first use.
 */
export function openApiRoutes(routes: () => readonly RouteDef[], info: ApiInfo): RouteDef[] {
  let doc: OpenApiDocument | null = null;
  return [
    {
      method: 'get',
      path: '/api/openapi.json',
      summary: 'The OpenAPI 3.1 document of this API, generated from the route table',
      tag: 'ops',
      access: { public: true },
      handler: (ctx) => {
        doc ??= openApiDocument(routes(), info);
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = doc;
      },
    },
    {
      method: 'get',
      path: '/api/docs',
      summary: 'API documentation page (swagger-ui, served from this host)',
      tag: 'ops',
      access: { public: true },
      handler: (ctx) => {
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = PAGE;
      },
    },
    {
      method: 'get',
      path: '/api/docs/:file',
      summary: 'A static file of the documentation page',
      tag: 'ops',
      access: { public: true },
      request: { params: DocFile },
      handler: (ctx) => {
        const { file } = DocFile.parse(ctx.params);
        ctx.set('Cache-Control', 'public, max-age=3600');
        if (file === 'init.js') {
          ctx.type = 'text/javascript; charset=utf-8';
          ctx.body = INIT;
          return;
        }
        ctx.type = ASSETS[file]!;
        ctx.body = asset(file);
      },
    },
  ];
}
