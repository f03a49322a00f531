/**
 * The CodeConnections connection to GitHub, created when the stack is given none. AWS creates it in
 * the PENDING state: someone must authorise it once in the AWS console before the pipeline can run.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** CodeConnections limits connection names to 32 characters. */
export const CONNECTION_NAME_MAX_LENGTH = 32;

export interface SourceConnectionArgs {
  /** The connection's name; cut to 32 characters. */
  connectionName: string;
}

export class SourceConnection extends pulumi.ComponentResource {
  public readonly connection: aws.codeconnections.Connection;
  public readonly connectionArn: pulumi.Output<string>;
  public readonly connectionStatus: pulumi.Output<string>;

  constructor(name: string, args: SourceConnectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:connection:SourceConnection", name, {}, opts);

    this.connection = new aws.codeconnections.Connection(
      `${name}-github`,
      {
        name: args.connectionName.slice(0, CONNECTION_NAME_MAX_LENGTH),
        providerType: "GitHub",
      },
      { parent: this },
    );

    this.connectionArn = this.connection.arn;
    this.connectionStatus = this.connection.connectionStatus;
    this.registerOutputs({
      connectionArn: this.connectionArn,
      connectionStatus: this.connectionStatus,
    });
  }
}
