#!/usr/bin/env node
// The `branchline` command: loads the TypeScript CLI through tsx's CommonJS hook (no build step).
"use strict";
require("tsx/cjs/api").register();
require("./main.ts")
  .main()
  .catch((error) => {
    process.stderr.write(
      `branchline: error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
