/**
 * Message types, as Flower 1.28's `MessageType`. A type may carry an action after a dot,
 * `category.action` (e.g. `train.finetune`), routed to the handler registered for it.
 */
export const MessageType = {
  TRAIN: "train",
  EVALUATE: "evaluate",
  QUERY: "query",
} as const;

export type MessageCategory = (typeof MessageType)[keyof typeof MessageType];

const CATEGORIES = new Set<string>(Object.values(MessageType));

/** Splits `train.finetune` into its category and action (`default` when there is none). */
export function parseMessageType(
  messageType: string,
): { category: MessageCategory; action: string } | undefined {
  const [category = "", action = "default", ...rest] = messageType.split(".");
  if (!CATEGORIES.has(category) || rest.length > 0 || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(action))
    return undefined;
  return { category: category as MessageCategory, action };
}
