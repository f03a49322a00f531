/**
 * The state table: per pull request, the newest GitHub `updated_at` the webhook handler or the
 * reconciler acted on (a high-water mark), so that a replayed or late delivery never undoes a newer
 * state. One small item per pull request (`pk` = `<source>#<n>`), written once per acted-on delivery.
 * On-demand billing (a few writes an hour cost next to nothing), encrypted with the AWS-owned key
 * (DynamoDB's default), no point-in-time recovery (the marks rebuild themselves from the next events),
 * no deletion protection (`pulumi destroy` removes it), and DynamoDB deletes a mark through the TTL
 * attribute `expiresAt` once no event has touched it for about 400 days.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { STATE_TABLE } from "../../functions/shared/names";

export class StateTable extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;
  public readonly tableName: pulumi.Output<string>;
  public readonly tableArn: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:state:StateTable", name, {}, opts);

    this.table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: STATE_TABLE.key,
        attributes: [{ name: STATE_TABLE.key, type: "S" }],
        ttl: { attributeName: STATE_TABLE.expiresAt, enabled: true },
        pointInTimeRecovery: { enabled: false },
        deletionProtectionEnabled: false,
      },
      { parent: this },
    );

    this.tableName = this.table.name;
    this.tableArn = this.table.arn;
    this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn });
  }
}
