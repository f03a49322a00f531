/** `branchline list`: the managed clones with their pull request, branch, last execution and age. */
import { connectAws, loadSource } from "./aws.js";
import { CONCURRENCY, listOnce, managedClones } from "./clones.js";
import { JSON_FLAGS, JSON_HELP, NAME_FLAGS, NAME_HELP, parseFlags } from "./flags.js";
import { formatAge, line, mapLimit, printJson, startProgress, table, type CliIo } from "./io.js";
import { resolveServices } from "./names.js";

export const LIST_USAGE = `Usage: branchline list [options]

Lists the managed clones of the source pipeline (of every service of the stack, or the one --service
picks): pull request, branch, last execution state and age.

Options:
${NAME_HELP}
${JSON_HELP}
`;

export interface ListedClone {
  /** The service, when the names come from the stack's services output. */
  service?: string;
  pullRequest: number;
  pipeline: string;
  branch: string | null;
  pipelineType: string;
  created: string | null;
  ageSeconds: number | null;
  lastExecution: { id: string; status: string; startTime: string | null } | null;
}

export async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(argv, { ...NAME_FLAGS, ...JSON_FLAGS }, "list");
  if (values.help) {
    io.stdout.write(LIST_USAGE);
    return 0;
  }
  const json = values.json === true;
  const services = await resolveServices(
    io,
    { stack: values.stack, service: values.service, sourcePipeline: values["source-pipeline"] },
    { repositories: false },
  );
  const aws = await connectAws(io.signal);
  const listing = listOnce(aws.pipelines);
  const names = services.map((service) => service.sourcePipelineName).join(", ");
  const progress = startProgress(io, json, `reading ${names}`);
  const rows: ListedClone[] = [];
  try {
    for (const service of services) {
      const source = await loadSource(aws, service.sourcePipelineName);
      const clones = await managedClones(aws.pipelines, source, progress, listing);
      const now = (io.now ?? (() => new Date()))();
      let read = 0;
      const serviceRows = await mapLimit(clones, CONCURRENCY, async (clone) => {
        const latest = await aws.history.latest(clone.pipeline);
        progress.update(`reading executions ${++read}/${clones.length}`);
        const row: ListedClone = {
          ...(service.name === undefined ? {} : { service: service.name }),
          pullRequest: clone.pullRequest,
          pipeline: clone.pipeline,
          branch: clone.branch ?? null,
          pipelineType: clone.pipelineType,
          created: clone.created?.toISOString() ?? null,
          ageSeconds: clone.created
            ? Math.max(0, Math.floor((now.getTime() - clone.created.getTime()) / 1000))
            : null,
          lastExecution: latest
            ? {
                id: latest.pipelineExecutionId,
                status: latest.status,
                startTime: latest.startTime?.toISOString() ?? null,
              }
            : null,
        };
        return row;
      });
      rows.push(...serviceRows);
    }
  } finally {
    progress.stop();
  }

  if (json) {
    printJson(io.stdout, rows);
    return 0;
  }
  if (rows.length === 0) {
    line(io.stdout, `no managed clones of ${names}`);
    return 0;
  }
  // A SERVICE column when the command covers several services.
  const several = services.length > 1;
  io.stdout.write(
    table(
      [
        ...(several ? ["SERVICE"] : []),
        "PR",
        "PIPELINE",
        "BRANCH",
        "TYPE",
        "LAST EXECUTION",
        "AGE",
      ],
      rows.map((row) => [
        ...(several ? [row.service ?? "-"] : []),
        `#${row.pullRequest}`,
        row.pipeline,
        row.branch ?? "-",
        row.pipelineType,
        row.lastExecution?.status ?? "never run",
        row.ageSeconds === null ? "-" : formatAge(row.ageSeconds * 1000),
      ]),
    ),
  );
  return 0;
}
