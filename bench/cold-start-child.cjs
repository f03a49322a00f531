// Runs in a fresh Node.js process: loads a bundled Lambda entry, hands it one delivery and reports
// the time from process start to the handler's answer (performance.now() counts from process start).
"use strict";
const { performance } = require("node:perf_hooks");

const bundle = process.argv[2];
const event = JSON.parse(process.env.BENCH_EVENT || "{}");
const { handler } = require(bundle);
Promise.resolve(handler(event, { getRemainingTimeInMillis: () => 3000 })).then(
  (response) => {
    const ms = performance.now();
    process.stdout.write(`\nBENCH ${JSON.stringify({ ms, status: response.statusCode })}\n`);
  },
  (error) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  },
);
