import type { MessageQueue, OutgoingMessage, ReceivedMessage, SendResult } from "../lib/delivery/queue";

/**
 * A queue that keeps sent message bodies in memory and nothing else: the in-process queue of the
 * queue-mode ingest figures, so that they measure ingest and not a disk or a network.
 */
export class MemoryQueue implements MessageQueue {
  readonly name = "memory";
  /** Bodies sent since the last `clear`. */
  readonly bodies: string[] = [];

  send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    return Promise.resolve(
      messages.map((message) => {
        this.bodies.push(message.body);
        return { id: message.id, ok: true as const, messageId: String(this.bodies.length) };
      }),
    );
  }

  receive(): Promise<ReceivedMessage[]> {
    return Promise.resolve([]);
  }

  delete(): Promise<string[]> {
    return Promise.resolve([]);
  }

  changeVisibility(): Promise<string[]> {
    return Promise.resolve([]);
  }

  approximateCount(): Promise<number> {
    return Promise.resolve(this.bodies.length);
  }

  clear(): void {
    this.bodies.length = 0;
  }
}
