/**
 * The repository webhook as a Pulumi resource: a dynamic provider whose create, update, delete, read
 * and diff call ./webhook-registration, and a component that declares it.
 *
 * Pulumi serializes a dynamic provider's methods (with what they capture) into the stack's state and
 * runs that text in its provider process at deploy time. The provider object stays small, captures
 * only the functions of ./webhook-registration, and loads Octokit at call time (`connectGitHub`).
 * The token and the webhook secret are inputs and outputs of the resource, never captured: both are
 * marked secret, so the state stores them encrypted.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  connectGitHub,
  createWebhook,
  deleteWebhook,
  diffWebhook,
  hookIdOf,
  needsUpdate,
  readWebhook,
  updateWebhook,
  WEBHOOK_EVENTS,
  type WebhookState,
} from "./webhook-registration";

/** The state the provider keeps: its inputs plus the webhook's id. */
export interface WebhookOutputs extends WebhookState {
  hookId: number;
}

/** The object passed to `pulumi.dynamic.Resource` (exported for tests). */
export const webhookProvider: pulumi.dynamic.ResourceProvider<WebhookState, WebhookOutputs> = {
  async create(inputs) {
    const hookId = await createWebhook(connectGitHub(inputs.token, inputs.apiUrl), inputs);
    return { id: String(hookId), outs: { ...inputs, hookId } };
  },

  async diff(_id, olds, news) {
    return diffWebhook(olds, news);
  },

  async update(id, olds, news) {
    const hookId = hookIdOf(id);
    if (needsUpdate(olds, news)) {
      await updateWebhook(connectGitHub(news.token, news.apiUrl), hookId, news);
    }
    return { outs: { ...news, hookId } };
  },

  async delete(id, props) {
    await deleteWebhook(connectGitHub(props.token, props.apiUrl), props.repository, hookIdOf(id));
  },

  async read(id, props) {
    if (props === undefined) {
      throw new Error(
        "importing a webhook is not supported: branchline creates its own (`pulumi up`)",
      );
    }
    const hookId = hookIdOf(id);
    const live = await readWebhook(
      connectGitHub(props.token, props.apiUrl),
      props.repository,
      hookId,
    );
    // A blank id tells Pulumi the webhook is gone; `pulumi up` then creates it again.
    if (live === undefined) return {};
    return { id, props: { ...props, hookId, url: live.url, events: live.events } };
  },
};

/** The Pulumi type token of the webhook resource. */
export const REPOSITORY_WEBHOOK_TYPE = "pulumi-nodejs:dynamic/github:RepositoryWebhook";

export interface RepositoryWebhookArgs {
  /** `owner/name`. */
  repository: pulumi.Input<string>;
  /** The receiver's URL. */
  url: pulumi.Input<string>;
  /** The webhook secret (stored as a Pulumi secret). */
  secret: pulumi.Input<string>;
  /** A GitHub token with admin rights on the repository (stored as a Pulumi secret). */
  token: pulumi.Input<string>;
  /** GitHub's REST API base URL; `undefined`: https://api.github.com. */
  apiUrl?: pulumi.Input<string> | undefined;
}

/** The repository's `pull_request` webhook (JSON deliveries, signed with the secret). */
export class RepositoryWebhook extends pulumi.dynamic.Resource {
  /** GitHub's id of the webhook. `declare`: the base constructor defines the output. */
  declare public readonly hookId: pulumi.Output<number>;

  constructor(name: string, args: RepositoryWebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      webhookProvider,
      name,
      {
        repository: args.repository,
        url: args.url,
        secret: pulumi.secret(args.secret),
        token: pulumi.secret(args.token),
        events: [...WEBHOOK_EVENTS],
        apiUrl: args.apiUrl,
        hookId: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "secret", "token"],
      },
      "github",
      "RepositoryWebhook",
    );
  }
}

export type GitHubWebhookArgs = RepositoryWebhookArgs;

/**
 * Registers the webhook receiver with the GitHub repository on `pulumi up` and removes the webhook on
 * `pulumi destroy`. The component's `dependsOn` is given to the webhook itself: Pulumi does not make a
 * component's children wait for the component's own dependencies, so without it GitHub could be told
 * about the receiver before the receiver can answer.
 */
export class GitHubWebhook extends pulumi.ComponentResource {
  public readonly hook: RepositoryWebhook;
  /** GitHub's id of the webhook. */
  public readonly webhookId: pulumi.Output<number>;

  constructor(name: string, args: GitHubWebhookArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:github:GitHubWebhook", name, {}, opts);
    this.hook = new RepositoryWebhook(`${name}-hook`, args, {
      parent: this,
      ...(opts?.dependsOn === undefined ? {} : { dependsOn: opts.dependsOn }),
    });
    this.webhookId = this.hook.hookId;
    this.registerOutputs({ webhookId: this.webhookId });
  }
}
