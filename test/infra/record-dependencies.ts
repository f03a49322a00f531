/**
 * What each resource declared it depends on, as the program tells the (mock) resource monitor.
 * `MockResourceArgs` carries no dependencies, so this wraps the monitor's `registerResource` and
 * reads them from the RegisterResource requests: the URNs there (`dependsOn` and the resources whose
 * outputs the inputs use) are exactly what the engine orders creation, and deletion in reverse, by.
 * Mocks cannot prove what the deployed resources then do; only the order the engine is told.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMocks } from "../helpers/pulumi-mocks.js";

interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}
interface Monitor {
  registerResource(request: RegisterRequest, callback: (...args: unknown[]) => void): void;
}

const dependencies = new Map<string, string[]>();
let recording = false;

/** Installs the mocks (if needed) and starts recording; idempotent. */
export async function recordDependencies(): Promise<void> {
  await installMocks();
  if (recording) return;
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor | undefined;
  if (monitor === undefined) throw new Error("no resource monitor: mocks are not installed");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    dependencies.set(
      request.getName(),
      request.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2)),
    );
    register(request, callback);
  };
  recording = true;
}

/** The names of the resources `name` depends on (directly), as last registered. */
export function dependenciesOf(name: string): string[] {
  const found = dependencies.get(name);
  if (found === undefined) throw new Error(`no resource named ${name} was registered`);
  return [...found];
}
