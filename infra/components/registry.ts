/**
 * The ECR repositories of one trust tier, one per image: `<prefix>/<image>` for the source tier (what
 * the source pipeline builds and deploys), `<prefix>-pr/<image>` for the pull request tier (what clones
 * push, which nothing deploys). Each repository: scan on push, AES256 encryption, mutable tags (`latest`
 * and a pull request's `pr-<n>` move with each push) and its own lifecycle rules (see
 * `registryLifecyclePolicy`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { registryLifecyclePolicy, type RegistryTier } from "../policies";

export interface RegistryArgs {
  tier: RegistryTier;
  /** The repositories' common prefix: `<pipelineName>` (source tier) or `<pipelineName>-pr`. */
  namePrefix: string;
  /** The configured image names: one repository each, `<namePrefix>/<image>`. */
  imageNames: string[];
  /** Source tier: the newest images kept per repository, besides `latest`. */
  sourceImageRetentionCount: pulumi.Input<number>;
  /** Pull request tier: days after which `pr-` images expire. */
  prImageRetentionDays: pulumi.Input<number>;
  /** Days after which untagged images expire. */
  untaggedImageRetentionDays: pulumi.Input<number>;
  /** Let `pulumi destroy` delete a repository that still holds images. */
  forceDelete?: pulumi.Input<boolean>;
}

/** The ECR repository name of an image in a tier: `<namePrefix>/<image>`. */
export function repositoryName(namePrefix: string, imageName: string): string {
  return `${namePrefix}/${imageName}`;
}

/** The repository prefix of a build (`REPOSITORY_PREFIX`): a repository URL without its `/<image>`. */
export function repositoryUrlPrefix(repositoryUrl: string, imageName: string): string {
  const suffix = `/${imageName}`;
  if (!repositoryUrl.endsWith(suffix)) {
    throw new Error(`repository URL ${repositoryUrl} does not end with ${suffix}`);
  }
  return repositoryUrl.slice(0, -suffix.length);
}

export class Registry extends pulumi.ComponentResource {
  /** The repositories, in the order of the configured images. */
  public readonly repositories: aws.ecr.Repository[];
  public readonly repositoryNames: pulumi.Output<string[]>;
  public readonly repositoryArns: pulumi.Output<string[]>;
  /** Image name -> repository URL. */
  public readonly repositoryUrls: pulumi.Output<Record<string, string>>;
  /** `<registry host>/<namePrefix>`: each image is `<urlPrefix>/<image>`. */
  public readonly urlPrefix: pulumi.Output<string>;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:registry:Registry", name, {}, opts);
    const first = args.imageNames[0];
    if (first === undefined) throw new Error(`Registry ${name}: no image names`);

    const policy = pulumi
      .all([
        args.sourceImageRetentionCount,
        args.prImageRetentionDays,
        args.untaggedImageRetentionDays,
      ])
      .apply(([count, prDays, untaggedDays]) =>
        JSON.stringify(
          registryLifecyclePolicy({
            tier: args.tier,
            sourceImageRetentionCount: count,
            prImageRetentionDays: prDays,
            untaggedImageRetentionDays: untaggedDays,
          }),
        ),
      );

    this.repositories = args.imageNames.map((image) => {
      const repository = new aws.ecr.Repository(
        `${name}-${image}-repository`,
        {
          name: repositoryName(args.namePrefix, image),
          imageTagMutability: "MUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          forceDelete: args.forceDelete ?? false,
        },
        { parent: this },
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-${image}-lifecycle`,
        { repository: repository.name, policy },
        { parent: this },
      );
      return repository;
    });

    this.repositoryNames = pulumi.all(this.repositories.map((r) => r.name));
    this.repositoryArns = pulumi.all(this.repositories.map((r) => r.arn));
    this.repositoryUrls = pulumi
      .all(this.repositories.map((r) => r.repositoryUrl))
      .apply((urls) =>
        Object.fromEntries(args.imageNames.map((image, i) => [image, urls[i] ?? ""])),
      );
    this.urlPrefix = (this.repositories[0] as aws.ecr.Repository).repositoryUrl.apply((url) =>
      repositoryUrlPrefix(url, first),
    );
    this.registerOutputs({
      repositoryNames: this.repositoryNames,
      repositoryArns: this.repositoryArns,
      repositoryUrls: this.repositoryUrls,
    });
  }
}
