import * as z from "zod";
import { alertSchema, type Alert } from "../alert/schema";
import type { PathSegment } from "./json-path";

/**
 * A faster path for building mapped Alert content whose every value is known to fit.
 *
 * On success the Alert schema returns a copy of the content in which each object lists its keys
 * in the schema's order and lists have no holes. When each mapped value has been checked at its
 * target by {@link leafCheckFor}, and every other value was built by the bridge itself, that
 * copy is all the schema check adds. A {@link ContentPlan} builds that copy straight from the
 * values, in an order compiled once per mapping, instead of writing the content target by target
 * and then parsing it.
 */

/** Tells whether the Alert schema accepts a value at one target and returns it unchanged. */
export type LeafCheck = (value: unknown) => boolean;

/**
 * Compiles the check of a scalar target, such as the string of `network_list[0].src_ip` or the
 * integer of `count`. Returns undefined for a target whose value is an object or a list, and for
 * a target inside a record (`system_info.key`), whose values need the whole schema check.
 */
export function leafCheckFor(segments: readonly PathSegment[]): LeafCheck | undefined {
  let schema: z.ZodType = alertSchema;
  for (const segment of segments) {
    const current = unwrapOptional(schema);
    if (typeof segment === "number" && current instanceof z.ZodArray) {
      schema = current.element as z.ZodType;
    } else if (typeof segment === "string" && current instanceof z.ZodObject && Object.hasOwn(current.shape, segment)) {
      schema = (current.shape as Record<string, z.ZodType>)[segment] as z.ZodType;
    } else {
      return undefined;
    }
  }

  const leaf = unwrapOptional(schema);
  if (leaf instanceof z.ZodString && (leaf.def.checks ?? []).length === 0) return isString;
  const isScalarSchema =
    leaf instanceof z.ZodString ||
    leaf instanceof z.ZodNumber ||
    leaf instanceof z.ZodBoolean ||
    leaf instanceof z.ZodEnum ||
    leaf instanceof z.ZodLiteral ||
    leaf instanceof z.ZodUnion;
  if (!isScalarSchema) return undefined;
  return (value) => {
    if (typeof value === "object" || typeof value === "function") return false;
    const result = leaf.safeParse(value);
    return result.success && Object.is(result.data, value);
  };
}

function isString(value: unknown): boolean {
  return typeof value === "string";
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

/** A value taken from one slot. */
interface SlotNode {
  kind: "slot";
  slot: number;
}

/** An object whose keys are listed in the schema's order. */
interface ObjectNode {
  kind: "object";
  keys: string[];
  values: PlanNode[];
  /** Slot of a target that writes the whole object, which the plan never takes a value from. */
  ownSlot: number | undefined;
}

/** A list whose items are listed by index, where a missing item leaves no hole. */
interface ListNode {
  kind: "list";
  items: PlanNode[];
}

/**
 * A part of the content that only the schema check builds, such as a record. The plan never takes
 * a value there, because the targets that write one have no {@link LeafCheck}.
 */
interface OpaqueNode {
  kind: "opaque";
  slots: number[];
}

type PlanNode = SlotNode | ObjectNode | ListNode | OpaqueNode;

interface Draft {
  slot: number | undefined;
  members: Map<string, Draft>;
  items: Map<number, Draft>;
}

/**
 * The order in which {@link ContentPlan.build} writes the values of content whose every value
 * fits its target. Each target path has a slot, and values for the same path share it.
 */
export class ContentPlan {
  readonly #root: ObjectNode;
  readonly #slots = new Map<string, number>();

  /** @param paths Every target path that the content can contain a value at. */
  constructor(paths: Iterable<readonly PathSegment[]>) {
    const root: Draft = newDraft();
    for (const path of paths) this.#addPath(root, path);
    const node = finishDraft(root, alertSchema, 0);
    if (node.kind !== "object") throw new Error("the Alert content plan must start with an object");
    this.#root = node;
  }

  /** Number of slots, the length of the array that {@link build} reads. */
  get slotCount(): number {
    return this.#slots.size;
  }

  /** Returns the slot of a path given to the constructor. */
  slotOf(path: readonly PathSegment[]): number {
    const slot = this.#slots.get(pathKey(path));
    if (slot === undefined) throw new Error(`path ${pathKey(path)} is not in the content plan`);
    return slot;
  }

  /**
   * Builds the content that the Alert schema would return for the values, where `values[slot]`
   * is the value at that slot's path, or undefined for none. Every value must be one that the
   * schema accepts unchanged, and no value may be at a slot of an object, a list or a record.
   *
   * @throws Error when a value is at such a slot, which is a fault of the caller.
   */
  build(values: readonly unknown[]): Alert {
    return buildObject(this.#root, values) ?? {};
  }

  #addPath(root: Draft, path: readonly PathSegment[]): void {
    let draft = root;
    for (const segment of path) {
      draft = typeof segment === "number" ? childDraft(draft.items, segment) : childDraft(draft.members, segment);
    }
    const key = pathKey(path);
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#slots.size;
      this.#slots.set(key, slot);
    }
    draft.slot = slot;
  }
}

function newDraft(): Draft {
  return { slot: undefined, members: new Map(), items: new Map() };
}

function childDraft<K>(children: Map<K, Draft>, key: K): Draft {
  let child = children.get(key);
  if (child === undefined) {
    child = newDraft();
    children.set(key, child);
  }
  return child;
}

function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

function finishDraft(draft: Draft, schema: z.ZodType, depth: number): PlanNode {
  const hasMembers = draft.members.size > 0;
  const hasItems = draft.items.size > 0;
  if (!hasMembers && !hasItems) return { kind: "slot", slot: draft.slot as number };

  const current = unwrapOptional(schema);
  // The Alert has lists only at the top level, which is where compactLists drops their holes.
  const isList = hasItems && !hasMembers && depth === 1 && current instanceof z.ZodArray;
  const isObject = hasMembers && !hasItems && current instanceof z.ZodObject;
  if (!isList && !isObject) return { kind: "opaque", slots: slotsUnder(draft) };
  // A target that writes a whole list would overlap its items, which compileFields rejects.
  if (isList && draft.slot !== undefined) return { kind: "opaque", slots: slotsUnder(draft) };

  if (isList) {
    const element = current.element as z.ZodType;
    const indexes = [...draft.items.keys()].sort((a, b) => a - b);
    const items = indexes.map((index) => finishDraft(draft.items.get(index) as Draft, element, depth + 1));
    return { kind: "list", items };
  }

  const shape = (current as z.ZodObject).shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape).filter((key) => draft.members.has(key));
  if (keys.length !== draft.members.size) return { kind: "opaque", slots: slotsUnder(draft) };
  const values = keys.map((key) => finishDraft(draft.members.get(key) as Draft, shape[key] as z.ZodType, depth + 1));
  return { kind: "object", keys, values, ownSlot: draft.slot };
}

function slotsUnder(draft: Draft): number[] {
  const slots = draft.slot === undefined ? [] : [draft.slot];
  for (const child of [...draft.members.values(), ...draft.items.values()]) slots.push(...slotsUnder(child));
  return slots;
}

function buildValue(node: PlanNode, values: readonly unknown[]): unknown {
  switch (node.kind) {
    case "slot":
      return values[node.slot];
    case "object":
      return buildObject(node, values);
    case "list":
      return buildList(node, values);
    case "opaque":
      for (const slot of node.slots) {
        if (values[slot] !== undefined) throw misplacedValue();
      }
      return undefined;
  }
}

// Returns undefined for an object without values, which the content then leaves out, as the
// targets written one by one do.
function buildObject(node: ObjectNode, values: readonly unknown[]): Record<string, unknown> | undefined {
  if (node.ownSlot !== undefined && values[node.ownSlot] !== undefined) throw misplacedValue();
  let result: Record<string, unknown> | undefined;
  const { keys } = node;
  for (let index = 0; index < keys.length; index++) {
    const value = buildValue(node.values[index] as PlanNode, values);
    if (value === undefined) continue;
    result ??= {};
    result[keys[index] as string] = value;
  }
  return result;
}

function buildList(node: ListNode, values: readonly unknown[]): unknown[] | undefined {
  let result: unknown[] | undefined;
  for (const item of node.items) {
    const value = buildValue(item, values);
    if (value === undefined) continue;
    result ??= [];
    result.push(value);
  }
  return result;
}

function misplacedValue(): Error {
  return new Error("a value that needs the Alert schema check was given to the content plan");
}
