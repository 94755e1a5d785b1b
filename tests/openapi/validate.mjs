// Validates the exchanges record.c made with the real ccai-server against
// the OpenAPI document that server served.
//
//   node validate.mjs OPENAPI.json EXCHANGES.json SRCDIR
//
// 1. The document is valid OpenAPI 3.0 (@apidevtools/swagger-parser: the
//    official schema, every $ref resolved).
// 2. The routes the router serves (the route tables in SRCDIR/libccai, the
//    entries {"METHOD", "/path/:param", ...}) are exactly the documented
//    operations.
// 3. Each exchange: the status is the one the request was meant to get, and
//    one the operation documents (no "default" fallback); the Content-Type
//    is a documented media type of that response (no body where it
//    documents none); a JSON body validates against the schema
//    (openapi-backend, Ajv); the documented headers are present and valid.
//    A path the document does not list must get its NotFound response, a
//    method it does not list for a path its MethodNotAllowed response with
//    the path's methods in Allow. HEAD is GET without the body.
// 4. Every operation was called with success and with at least one error.
// Prints TAP, then a table of route x statuses seen and "N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { OpenAPIBackend } from 'openapi-backend';

const [docPath, exchangesPath, srcDir] = process.argv.slice(2);
if (!docPath || !exchangesPath || !srcDir) {
  console.error('usage: node validate.mjs OPENAPI.json EXCHANGES.json SRCDIR');
  process.exit(2);
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
let n = 0;
let failed = 0;
function check(ok, name, why) {
  n++;
  if (ok) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    for (const line of [].concat(why || [])) console.log(`  # ${line}`);
  }
  return ok;
}

const raw = JSON.parse(fs.readFileSync(docPath, 'utf8'));
const exchanges = JSON.parse(fs.readFileSync(exchangesPath, 'utf8'));

// 1. The document itself.
let doc;
try {
  await SwaggerParser.validate(structuredClone(raw));
  doc = await SwaggerParser.dereference(structuredClone(raw));
  check(true, 'the document is valid OpenAPI 3.0');
} catch (e) {
  check(false, 'the document is valid OpenAPI 3.0', String(e.message || e));
  console.log(`${n - failed} passed, ${failed} failed`);
  process.exit(1);
}
const api = new OpenAPIBackend({
  definition: structuredClone(raw),
  strict: true,
  validate: true,
  ajvOpts: { strict: false, allErrors: true },
  customizeAjv: (ajv) => addFormats(ajv),
});
await api.init();
// For what openapi-backend does not compile itself (the router-level
// responses, header values).
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

// 2. The router's table against the documented operations.
function shape(p) {
  return p.replace(/\{[^}]*\}/g, '{}').replace(/:[^/]+/g, '{}');
}
function sources(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.c')) out.push(p);
  }
  return out;
}
const routeRe = /\{\s*"(GET|PUT|POST|DELETE|OPTIONS|PATCH)"\s*,\s*"(\/[^"]*)"/g;
const routes = new Set();
for (const file of sources(path.join(srcDir, 'libccai'))) {
  for (const m of fs.readFileSync(file, 'utf8').matchAll(routeRe)) {
    routes.add(`${m[1]} ${shape(m[2])}`);
  }
}
const documented = new Map(); // "METHOD /shape" -> [path, method]
for (const [p, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) {
    if (item[m]) documented.set(`${m.toUpperCase()} ${shape(p)}`, [p, m]);
  }
}
check(routes.size > 10, `the route tables were found (${routes.size} routes)`);
for (const r of [...routes].sort()) check(documented.has(r), `route ${r} is documented`);
for (const r of [...documented.keys()].sort()) {
  check(routes.has(r), `documented operation ${r} is a route`);
}

// 3. Each exchange.
function mediaType(v) {
  return (v || '').split(';')[0].trim().toLowerCase();
}
function findPath(p) {
  const segs = p.split('/');
  for (const templ of Object.keys(doc.paths)) {
    const ts = templ.split('/');
    if (ts.length !== segs.length) continue;
    if (ts.every((t, i) => (t.startsWith('{') && segs[i] !== '') || t === segs[i])) return templ;
  }
  return null;
}
function schemaErrors(errors) {
  return (errors || []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

// What a response object says about an answer; problems as strings.
function checkResponse(resp, x, op) {
  const problems = [];
  const headers = x.headers || {};
  const ctype = headers['content-type'];
  const head = x.method === 'HEAD';
  if (resp.content) {
    const want = Object.keys(resp.content);
    const match = want.find(
      (w) => w.toLowerCase() === (ctype || '').toLowerCase() || w.toLowerCase() === mediaType(ctype),
    );
    if (!match) {
      problems.push(`Content-Type ${ctype} is not one of ${want.join(', ')}`);
    } else if (!head) {
      const schema = resp.content[match].schema;
      if (mediaType(match) === 'application/json') {
        let body;
        try {
          body = JSON.parse(x.body);
        } catch (e) {
          problems.push(`the body is not JSON: ${e.message}`);
        }
        if (body !== undefined) {
          if (op) {
            const v = api.validator.validateResponse(body, op, x.status);
            problems.push(...schemaErrors(v.errors));
          } else {
            const validate = ajv.compile(schema);
            if (!validate(body)) problems.push(...schemaErrors(validate.errors));
          }
        }
      } else if (schema && schema.type && schema.type !== 'string') {
        problems.push(`a ${match} body documented as ${schema.type}`);
      }
    }
  } else if (x.body !== '') {
    problems.push(`a body (${ctype}) where the document describes none: ${x.body.slice(0, 120)}`);
  }
  if (head && x.body !== '') problems.push('HEAD answered with a body');
  for (const [name, h] of Object.entries(resp.headers || {})) {
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (h.required) problems.push(`the documented header ${name} is missing`);
      continue;
    }
    if (h.schema) {
      const v = h.schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const validate = ajv.compile(h.schema);
      if (!validate(v)) problems.push(`header ${name}: ${schemaErrors(validate.errors).join('; ')}`);
    }
  }
  if (op) {
    const hv = api.validator.validateResponseHeaders(
      Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [k, /^-?\d+$/.test(v) ? Number(v) : v]),
      ),
      op,
      { statusCode: x.status, setMatchType: 'superset' },
    );
    problems.push(...schemaErrors(hv.errors).map((e) => `headers: ${e}`));
  }
  return problems;
}

const seen = new Map(); // "METHOD path" -> Set of statuses
for (const x of exchanges) {
  const url = new URL(x.target, 'http://server');
  const label = `[${x.server}] ${x.name}: ${x.method} ${url.pathname} -> ${x.status}`;
  const problems = [];
  if (x.status !== x.expect) problems.push(`meant to get ${x.expect}, got ${x.status}`);
  if (!x.body_utf8) problems.push('the body is not valid UTF-8');
  const templ = findPath(url.pathname);
  const method = x.method === 'HEAD' ? 'get' : x.method.toLowerCase();
  if (!templ) {
    if (x.status !== 404) problems.push(`a path the document does not list got ${x.status}`);
    else problems.push(...checkResponse(doc.components.responses.NotFound, x, null));
  } else if (!doc.paths[templ][method]) {
    const allowed = METHODS.filter((m) => doc.paths[templ][m]).map((m) => m.toUpperCase());
    if (x.status !== 405) {
      problems.push(`a method the document does not list for ${templ} got ${x.status}`);
    } else {
      problems.push(...checkResponse(doc.components.responses.MethodNotAllowed, x, null));
      const allow = (x.headers.allow || '').split(',').map((s) => s.trim()).filter(Boolean);
      if (allow.sort().join() !== allowed.sort().join()) {
        problems.push(`Allow: ${x.headers.allow}, the document lists ${allowed.join(', ')}`);
      }
    }
  } else {
    const key = `${method.toUpperCase()} ${templ}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key).add(x.status);
    const op = api.matchOperation({ method, path: url.pathname, headers: {} });
    const responses = doc.paths[templ][method].responses;
    const resp = responses[String(x.status)] || responses[`${String(x.status)[0]}XX`];
    if (!op) problems.push(`openapi-backend finds no operation for ${method} ${url.pathname}`);
    else if (!resp) {
      problems.push(
        `status ${x.status} is not documented for ${key} (documented: ${Object.keys(responses).join(', ')})`,
        `body: ${x.body.slice(0, 200)}`,
      );
    } else problems.push(...checkResponse(resp, x, op));
  }
  check(problems.length === 0, label, problems);
}

// 4. Coverage: each operation with a success and an error.
console.log('# route x statuses seen');
for (const key of [...documented.values()].map(([p, m]) => `${m.toUpperCase()} ${p}`).sort()) {
  const st = [...(seen.get(key) || [])].sort();
  console.log(`#   ${key.padEnd(34)} ${st.join(' ')}`);
  check(st.some((s) => s < 400), `${key} answered with success`);
  check(st.some((s) => s >= 400), `${key} answered with an error`);
}
console.log(`1..${n}`);
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
