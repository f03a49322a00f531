/**
 * The ECR repository every build pushes to: scan on push, mutable tags (a pull request's `pr-<n>` tag
 * moves with each push), lifecycle rules expiring pull request and untagged images.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { registryLifecyclePolicy } from "../policies";

export interface RegistryArgs {
  /** Days after which `pr-` images expire. */
  prImageRetentionDays: pulumi.Input<number>;
  /** Days after which untagged images expire. */
  untaggedImageRetentionDays: pulumi.Input<number>;
  /** Let `pulumi destroy` delete a repository that still holds images. */
  forceDelete?: pulumi.Input<boolean>;
}

export class Registry extends pulumi.ComponentResource {
  public readonly repository: aws.ecr.Repository;
  public readonly repositoryName: pulumi.Output<string>;
  public readonly repositoryArn: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:registry:Registry", name, {}, opts);

    this.repository = new aws.ecr.Repository(
      `${name}-repository`,
      {
        imageTagMutability: "MUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        forceDelete: args.forceDelete ?? false,
      },
      { parent: this },
    );

    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: this.repository.name,
        policy: pulumi
          .all([args.prImageRetentionDays, args.untaggedImageRetentionDays])
          .apply(([prDays, untaggedDays]) =>
            JSON.stringify(registryLifecyclePolicy(prDays, untaggedDays)),
          ),
      },
      { parent: this },
    );

    this.repositoryName = this.repository.name;
    this.repositoryArn = this.repository.arn;
    this.repositoryUrl = this.repository.repositoryUrl;
    this.registerOutputs({
      repositoryName: this.repositoryName,
      repositoryArn: this.repositoryArn,
      repositoryUrl: this.repositoryUrl,
    });
  }
}
