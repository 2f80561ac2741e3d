#!/usr/bin/env node
// Checks KQL `where` expressions with Microsoft's parser (@kusto/language-service-next 12.4.1).
//
// Usage: node check_kql.js <folder holding node_modules/@kusto/language-service-next>
// Reads JSON lines {"rule": ..., "query": ..., "full": ...} on stdin; each query is parsed as
// `T | where <query>` (the shape of pySigma's kusto output without a pipeline), or as it is
// with `"full": true` or `"whole": true` (`Table\n| where …`, the output after a Kusto pipeline), and every
// syntax diagnostic is reported: one JSON line {"rule": ..., "error": ...} on stdout per
// rejected query. `KustoCode.Parse` runs no semantic analysis (no schema is given), so the
// diagnostics are syntax errors only. Exits 0 when every line was checked.
'use strict';
const path = require('path');
const readline = require('readline');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: check_kql.js <folder with node_modules>');
  process.exit(2);
}
const pkg = path.join(path.resolve(dir), 'node_modules', '@kusto', 'language-service-next');
require(path.join(pkg, 'bridge.js'));
require(path.join(pkg, 'Kusto.Language.Bridge.js'));

function check(query, full) {
  const prefix = full ? '' : 'T | where ';
  const code = Kusto.Language.KustoCode.Parse(prefix + query);
  const diagnostics = Bridge.toArray(code.GetDiagnostics());
  if (diagnostics.length === 0) return null;
  return diagnostics
    .map((d) => `${d.Code} ${d.Message} (at ${d.Start - prefix.length})`)
    .join('; ');
}

let checked = 0;
let rejected = 0;
const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  if (!line.trim()) return;
  const item = JSON.parse(line);
  checked += 1;
  const message = check(item.query, item.full === true || item.whole === true);
  if (message !== null) {
    rejected += 1;
    process.stdout.write(JSON.stringify({ rule: item.rule, error: message }) + '\n');
  }
});
input.on('close', () => {
  console.error(`kql: ${checked} queries checked, ${rejected} rejected`);
});
