/**
 * Customer managed policies, as pure functions (infra/policies.ts): statements packed in order into
 * as few documents as fit IAM's 6,144 characters each, the layout the program declares the policies
 * from (packed from the statements' bounds, within IAM's default quota of 10 per role), the real
 * documents divided by it, and the bounds of what the program cannot know before deploying.
 */
import { expect } from "chai";
import {
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_MAX_LENGTH,
  managedPoliciesJson,
  managedPolicyLayout,
  packManagedPolicies,
  roleArnBound,
  scopeOfArn,
  type PolicyStatement,
} from "../../infra/policies.js";

/** `{"Version":"2012-10-17","Statement":[]}` */
const EMPTY_DOCUMENT = 39;

/** A statement of exactly `length` characters of JSON (padded in its Resource). */
function statementOf(sid: string, length: number): PolicyStatement {
  const base: PolicyStatement = { Sid: sid, Effect: "Allow", Action: "s3:GetObject", Resource: "" };
  const padding = length - JSON.stringify(base).length;
  if (padding < 0) throw new Error(`a statement cannot be as short as ${length}`);
  return { ...base, Resource: "x".repeat(padding) };
}

const lengths = (statements: readonly PolicyStatement[]): number[] =>
  packManagedPolicies(statements).map((document) => JSON.stringify(document).length);

describe("infra/policies: customer managed policies", () => {
  it("the empty document is what a document adds to its statements", () => {
    expect(JSON.stringify({ Version: "2012-10-17", Statement: [] })).to.have.length(EMPTY_DOCUMENT);
    expect(JSON.stringify(statementOf("A", 100))).to.have.length(100);
  });

  it("packs small statements into one document, in order, exactly", () => {
    const statements = [statementOf("A", 100), statementOf("B", 200), statementOf("C", 300)];
    expect(packManagedPolicies(statements)).to.deep.equal([
      { Version: "2012-10-17", Statement: statements },
    ]);
    expect(lengths(statements)).to.deep.equal([EMPTY_DOCUMENT + 600 + 2]);
  });

  it("fills a document to exactly 6,144 characters, commas counted, then begins the next", () => {
    // 39 + 3,000 + 1 + 3,104 = 6,144: the third statement begins a second document.
    const first = statementOf("A", 3000);
    const second = statementOf("B", MANAGED_POLICY_MAX_LENGTH - EMPTY_DOCUMENT - 3000 - 1);
    const third = statementOf("C", 100);
    const packed = packManagedPolicies([first, second, third]);
    expect(packed.map((document) => document.Statement)).to.deep.equal([[first, second], [third]]);
    expect(lengths([first, second, third])).to.deep.equal([6144, EMPTY_DOCUMENT + 100]);
    // One character more and the second statement goes to the next document too.
    const longer = statementOf("B", MANAGED_POLICY_MAX_LENGTH - EMPTY_DOCUMENT - 3000);
    expect(
      packManagedPolicies([first, longer, third]).map((document) =>
        document.Statement.map((statement) => statement.Sid),
      ),
    ).to.deep.equal([["A"], ["B", "C"]]);
  });

  it("keeps the order: a later small statement does not move back into an earlier document", () => {
    const statements = [statementOf("A", 4000), statementOf("B", 4000), statementOf("C", 100)];
    expect(
      packManagedPolicies(statements).map((document) =>
        document.Statement.map((statement) => statement.Sid),
      ),
    ).to.deep.equal([["A"], ["B", "C"]]);
  });

  it("a statement that fills a document alone is accepted; one character more is refused, naming its Sid", () => {
    const largest = MANAGED_POLICY_MAX_LENGTH - EMPTY_DOCUMENT;
    expect(lengths([statementOf("Fits", largest)])).to.deep.equal([6144]);
    expect(() => packManagedPolicies([statementOf("A", 100), statementOf("TooLarge", largest + 1)]))
      .to.throw(Error)
      .with.property("message")
      .that.matches(
        /^the statement TooLarge has 6106 characters: a managed policy holds 6144 \(its statements and 39 more\)/,
      );
  });

  it("no statements: no document", () => {
    expect(packManagedPolicies([])).to.deep.equal([]);
  });

  describe("managedPolicyLayout", () => {
    it("is the number of statements of each packed document", () => {
      const bounds = [
        statementOf("A", 4000),
        statementOf("B", 1000),
        statementOf("C", 4000),
        statementOf("D", 100),
      ];
      expect(managedPolicyLayout("the role of worker", bounds, 0)).to.deep.equal([2, 2]);
    });

    it("refuses a role beyond 10 managed policies, naming the role and the count (the others counted)", () => {
      const bounds = Array.from({ length: 9 }, (_, i) => statementOf(`S${i}`, 5000));
      expect(managedPolicyLayout("the role of worker", bounds, 1)).to.have.length(9);
      expect(MANAGED_POLICIES_PER_ROLE).to.equal(10);
      expect(() => managedPolicyLayout("the role of worker", bounds, 2)).to.throw(
        /^the role of worker would have 11 managed policies attached \(2 \+ 9 of 6144 characters at most\), IAM allows 10 per role by default/,
      );
      const eleven = [...bounds, statementOf("S9", 5000), statementOf("S10", 5000)];
      expect(() => managedPolicyLayout("the clone role", eleven, 0)).to.throw(
        /^the clone role would have 11 managed policies attached \(0 \+ 11/,
      );
    });
  });

  describe("managedPoliciesJson", () => {
    it("divides the statements as the layout says, each document's JSON without whitespace", () => {
      const statements = [statementOf("A", 100), statementOf("B", 110), statementOf("C", 120)];
      expect(managedPoliciesJson("the role of worker", statements, [2, 1])).to.deep.equal([
        JSON.stringify({ Version: "2012-10-17", Statement: statements.slice(0, 2) }),
        JSON.stringify({ Version: "2012-10-17", Statement: statements.slice(2) }),
      ]);
    });

    it("refuses statements the layout was not made for, and a document beyond 6,144 characters", () => {
      const statements = [statementOf("A", 4000), statementOf("B", 4000)];
      expect(() => managedPoliciesJson("the role of worker", statements, [1])).to.throw(
        "the managed policies of the role of worker were laid out for 1 statements, got 2",
      );
      expect(() => managedPoliciesJson("the role of worker", statements, [2])).to.throw(
        "the managed policy 1 of the role of worker would have 8040 characters, IAM allows 6144",
      );
    });
  });

  describe("bounds", () => {
    it("a role ARN bound: a name of 64 characters, distinct per key", () => {
      const scope = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
      const arn = roleArnBound(scope, "acme-shop-preview-task-role");
      expect(arn).to.equal(
        `arn:aws:iam::123456789012:role/acme-shop-preview-task-role${"x".repeat(64 - 27)}`,
      );
      expect(arn.slice(arn.indexOf(":role/") + 6)).to.have.length(64);
      expect(roleArnBound(scope, "acme-shop-preview-execution-role")).to.not.equal(arn);
      // Longer keys are kept whole (still distinct, still no shorter than a real name).
      const long = "k".repeat(70);
      expect(roleArnBound(scope, long)).to.equal(`arn:aws:iam::123456789012:role/${long}`);
    });

    it("the scope of an ARN: its partition, region and account", () => {
      expect(
        scopeOfArn(
          "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:listener/app/a/0123456789abcdef/fedcba9876543210",
        ),
      ).to.deep.equal({
        partition: "aws-us-gov",
        region: "us-gov-west-1",
        accountId: "123456789012",
      });
    });
  });
});
