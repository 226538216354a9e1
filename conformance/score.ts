// Scores cache-tests results the way the suite does (lib/results.mjs): required tests, per file and in total.

/** The CLI's results: test id → true, or [error name, message]. */
export type Results = Record<string, true | [string, string]>;

export interface Suite {
  id: string;
  tests: Array<{ id: string; kind?: string; browser_only?: boolean }>;
}

/** The suite's own scoring module (`test-engine/lib/results.mjs`). */
interface Scoring {
  determineTestResult(suites: Suite[], id: string, results: Results, honorDependencies?: boolean): unknown;
  resultTypes: { pass: unknown };
}

export interface Score {
  required: number;
  /** Required tests passed, each scored on its own. */
  passed: number;
  /** Required tests passed with `depends_on` honoured (the suite's own scoring). */
  passedWithDependencies: number;
  perSuite: Map<string, { required: number; passed: number }>;
}

export function scoreResults(suites: Suite[], scoring: Scoring, results: Results): Score {
  const score: Score = { required: 0, passed: 0, passedWithDependencies: 0, perSuite: new Map() };
  for (const suite of suites) {
    const row = { required: 0, passed: 0 };
    for (const test of suite.tests) {
      if ((test.kind !== undefined && test.kind !== 'required') || test.browser_only === true) continue;
      row.required += 1;
      if (scoring.determineTestResult(suites, test.id, results, false) === scoring.resultTypes.pass) row.passed += 1;
      if (scoring.determineTestResult(suites, test.id, results, true) === scoring.resultTypes.pass) {
        score.passedWithDependencies += 1;
      }
    }
    score.required += row.required;
    score.passed += row.passed;
    score.perSuite.set(suite.id, row);
  }
  return score;
}
