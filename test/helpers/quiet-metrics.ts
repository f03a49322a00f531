/**
 * Loaded by mocha before every test file (.mocharc.json `require`): the functions' default metrics
 * (EMF through Powertools) stay off stdout in tests, where thousands of deliveries would print a
 * line each. Tests assert metrics through the recorder (recording-metrics.ts); the EMF adapter's own
 * test, and the bundle's, switch Powertools back on for their run.
 */
process.env["POWERTOOLS_METRICS_DISABLED"] ??= "true";
