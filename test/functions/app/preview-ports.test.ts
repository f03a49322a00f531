/**
 * The load balancer's errors are recognised by name: the adapter that throws them may run from the
 * deployment archive's separately bundled preview clients, whose copy of each class is not the
 * use case's (test/functions/webhook/bundle.test.ts drives that over the wire).
 */
import { expect } from "chai";
import {
  isListenerFull,
  isPriorityTaken,
  ListenerFullError,
  PriorityTakenError,
} from "../../../functions/app/preview-ports.js";

/** What another bundle's copy of the classes throws: same names, other classes. */
class OtherPriorityTakenError extends Error {
  override readonly name = "PriorityTakenError";
}
class OtherListenerFullError extends Error {
  override readonly name = "ListenerFullError";
}

describe("preview ports: isPriorityTaken and isListenerFull", () => {
  it("recognise this module's errors and another copy's, by name", () => {
    expect(isPriorityTaken(new PriorityTakenError("taken"))).to.equal(true);
    expect(isPriorityTaken(new OtherPriorityTakenError("taken"))).to.equal(true);
    expect(isListenerFull(new ListenerFullError("full"))).to.equal(true);
    expect(isListenerFull(new OtherListenerFullError("full"))).to.equal(true);
  });

  it("recognise nothing else", () => {
    expect(isPriorityTaken(new ListenerFullError("full"))).to.equal(false);
    expect(isListenerFull(new PriorityTakenError("taken"))).to.equal(false);
    const sdk = Object.assign(new Error("in use"), { name: "PriorityInUseException" });
    expect(isPriorityTaken(sdk)).to.equal(false);
    expect(isPriorityTaken({ name: "PriorityTakenError" })).to.equal(false);
    expect(isListenerFull(undefined)).to.equal(false);
    expect(isListenerFull("ListenerFullError")).to.equal(false);
  });
});
