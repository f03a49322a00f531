/**
 * Statements a role gets as customer managed policies (`aws.iam.Policy` + `aws.iam.RolePolicyAttachment`),
 * which IAM does not count with the role's inline policies: what outgrows the inline limit (the
 * previews' statements of many services) goes there. The statements are packed, in order, into as few
 * policies as fit IAM's 6,144 characters each (`managedPolicyLayout`, infra/policies.ts); how many is
 * decided from the statements' bounds (every value the program cannot know before deploying at its
 * longest), so that `pulumi preview` shows the same policies as `pulumi up`.
 *
 * Names: `<name>`, `<name>-2`, ... (the attachments `<name>-attachment`, `<name>-2-attachment`, ...);
 * the stack leaves the physical names to Pulumi, as for its roles (`<name>-<7 characters>`), no path.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { managedPoliciesJson, managedPolicyLayout, type PolicyStatement } from "../policies";

/** The statements of a role's managed policies. */
export interface ManagedPolicyStatements {
  /** Each policy's description, followed by ` (part <n>)` (a description cannot change in place). */
  description: string;
  statements: pulumi.Input<PolicyStatement[]>;
  /**
   * The same statements with every value the program cannot know yet at its longest: their packing
   * is the policies' (see `managedPolicyLayout`).
   */
  bounds: readonly PolicyStatement[];
}

export interface ManagedPolicyArgs extends ManagedPolicyStatements {
  /** The role (its `id`, the role's name, is what an attachment takes). */
  role: aws.iam.Role;
  /** The role, as errors name it (`the role of worker`). */
  roleLabel: string;
  /** The managed policies the role has besides these (IAM's quota counts them all). */
  attached: number;
}

export interface ManagedPolicies {
  policies: aws.iam.Policy[];
  /** What must be in place before the role may use the statements. */
  attachments: aws.iam.RolePolicyAttachment[];
}

/** Declares the policies and their attachments to the role, as children of `opts.parent`. */
export function declareManagedPolicies(
  name: string,
  args: ManagedPolicyArgs,
  opts: pulumi.CustomResourceOptions,
): ManagedPolicies {
  const layout = managedPolicyLayout(args.roleLabel, args.bounds, args.attached);
  const texts = pulumi
    .output(args.statements)
    .apply((statements) => managedPoliciesJson(args.roleLabel, statements, layout));
  const policies: aws.iam.Policy[] = [];
  const attachments: aws.iam.RolePolicyAttachment[] = [];
  layout.forEach((_, index) => {
    const policyName = index === 0 ? name : `${name}-${index + 1}`;
    const policy = new aws.iam.Policy(
      policyName,
      {
        description: `${args.description} (part ${index + 1})`,
        policy: texts.apply((all) => all[index] as string),
      },
      opts,
    );
    policies.push(policy);
    attachments.push(
      new aws.iam.RolePolicyAttachment(
        `${policyName}-attachment`,
        { role: args.role.id, policyArn: policy.arn },
        opts,
      ),
    );
  });
  return { policies, attachments };
}
