/**
 * The ECR repository every build pushes to: scan on push, mutable tags (a pull request's `pr-<n>` tag
 * moves with each push), and lifecycle rules (see `registryLifecyclePolicy`): `latest` never expires,
 * the newest N source images of each image are kept, pull request images and untagged images expire
 * after their days.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { registryLifecyclePolicy } from "../policies";

export interface RegistryArgs {
  /** The configured image names (the lifecycle rules select each image's source tags by name). */
  imageNames: pulumi.Input<pulumi.Input<string>[]>;
  /** The newest source images kept per image, besides `latest`. */
  sourceImageRetentionCount: pulumi.Input<number>;
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
          .all([
            pulumi.output(args.imageNames),
            args.sourceImageRetentionCount,
            args.prImageRetentionDays,
            args.untaggedImageRetentionDays,
          ])
          .apply(([imageNames, count, prDays, untaggedDays]) =>
            JSON.stringify(
              registryLifecyclePolicy({
                imageNames,
                sourceImageRetentionCount: count,
                prImageRetentionDays: prDays,
                untaggedImageRetentionDays: untaggedDays,
              }),
            ),
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
