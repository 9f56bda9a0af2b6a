// Runs Google's CSP Evaluator (npm `csp_evaluator`, 1.1.8) over a list of
// policies, as the oracle `palisade audit`'s CSP analysis is compared with.
//
//   node evaluate.mjs CSP_EVALUATOR_DIR < policies.json
//   node evaluate.mjs CSP_EVALUATOR_DIR --bypass-lists
//
// CSP_EVALUATOR_DIR is the installed package (…/node_modules/csp_evaluator,
// what scripts/observatory.sh exports as PALISADE_CSP_EVALUATOR; a directory
// holding node_modules/csp_evaluator works too). When the argument is
// missing, PALISADE_CSP_EVALUATOR is used.
//
// Evaluation mode: stdin is a JSON array of policy strings. Each is parsed
// with CspParser and evaluated with `new CspEvaluator(parsed, Version.CSP3)
// .evaluate()`, i.e. with no parsed-CSP checks and the package's
// DEFAULT_CHECKS on the effective CSP3 policy. In 1.1.8, DEFAULT_CHECKS is,
// in this order:
//   security checks: checkScriptUnsafeInline, checkScriptUnsafeEval,
//     checkPlainUrlSchemes, checkWildcards, checkMissingDirectives
//     (object-src, script-src, base-uri), checkScriptAllowlistBypass,
//     checkFlashObjectAllowlistBypass, checkIpSource, checkNonceLength,
//     checkSrcHttp, checkDeprecatedDirective;
//   parser checks: checkUnknownDirective, checkMissingSemicolon,
//     checkInvalidKeyword.
// The IGNORED findings that building the effective CSP3 policy produces
// ('unsafe-inline' next to a nonce/hash, allowlist entries next to
// 'strict-dynamic') come first in evaluate()'s result and are kept here.
// STRICTCSP_CHECKS and the lighthouse checks are not part of the default
// and are not run. The list of checks actually run is read from the package
// (DEFAULT_CHECKS), so a different version runs its own defaults.
//
// Output: one JSON array, for each policy in input order
//   {"policy": "...", "findings": [{"type", "severity", "directive",
//    "value", "description"}]}
// type and severity are the symbolic enum names (Type[n], Severity[n]);
// value is null when the finding has none. Findings are sorted stably by
// (directive, type name, value), each compared as strings by UTF-16 code
// units (plain `<`, not localeCompare), null value before any string; ties
// keep the evaluator's own order. Duplicate findings are kept. If the
// evaluator throws on a policy (it does, e.g. on sources the WHATWG URL
// parser rejects), the entry is {"policy", "findings": null, "error":
// "<name>: <message>"} instead.
//
// --bypass-lists mode prints {"jsonp": [...], "angular": [...], "flash":
// [...], "jsonp_needs_eval": [...]}: the URL lists of
// dist/allowlist_bypasses/{jsonp,angular,flash}.js in the package's order
// (the evaluator reports the first match, so order matters), and jsonp.js's
// NEEDS_EVAL host list (JSONP hosts only usable with 'unsafe-eval'). They are
// read from the package at run time; the repository does not contain them.

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);

function packageDir() {
  const dir = process.argv[2] && !process.argv[2].startsWith('--')
    ? process.argv[2]
    : process.env.PALISADE_CSP_EVALUATOR;
  if (!dir) {
    throw new Error('usage: node evaluate.mjs CSP_EVALUATOR_DIR [--bypass-lists] < policies.json');
  }
  const abs = path.resolve(dir);
  for (const candidate of [abs, path.join(abs, 'node_modules', 'csp_evaluator')]) {
    if (existsSync(path.join(candidate, 'dist', 'evaluator.js'))) {
      return candidate;
    }
  }
  throw new Error(`${dir}: no dist/evaluator.js (is csp_evaluator installed there?)`);
}

const dir = packageDir();
const load = (rel) => require(path.join(dir, 'dist', rel));

if (process.argv.includes('--bypass-lists')) {
  const jsonp = load('allowlist_bypasses/jsonp.js');
  const angular = load('allowlist_bypasses/angular.js');
  const flash = load('allowlist_bypasses/flash.js');
  process.stdout.write(JSON.stringify({
    jsonp: jsonp.URLS,
    angular: angular.URLS,
    flash: flash.URLS,
    jsonp_needs_eval: jsonp.NEEDS_EVAL,
  }, null, 1) + '\n');
} else {
  const { CspEvaluator } = load('evaluator.js');
  const { CspParser } = load('parser.js');
  const { Version } = load('csp.js');
  const { Type, Severity } = load('finding.js');

  const policies = JSON.parse(readFileSync(0, 'utf8'));
  if (!Array.isArray(policies) || !policies.every((p) => typeof p === 'string')) {
    throw new Error('stdin must be a JSON array of strings');
  }

  const cmp = (a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

  const results = policies.map((policy) => {
    let findings;
    try {
      const parsed = new CspParser(policy).csp;
      findings = new CspEvaluator(parsed, Version.CSP3).evaluate();
    } catch (e) {
      return { policy, findings: null, error: `${e && e.name}: ${e && e.message}` };
    }
    const out = findings.map((f) => ({
      type: Type[f.type] ?? String(f.type),
      severity: Severity[f.severity] ?? String(f.severity),
      directive: f.directive,
      value: f.value === undefined ? null : f.value,
      description: f.description,
    }));
    // Array.prototype.sort is stable (ES2019).
    out.sort((a, b) => cmp(a.directive, b.directive) || cmp(a.type, b.type) || cmp(a.value, b.value));
    return { policy, findings: out };
  });
  process.stdout.write(JSON.stringify(results, null, 1) + '\n');
}
