/**
 * A Server-Sent Events body read as it arrives (the revocation feed): `until` resolves once
 * the text received so far matches, and fails if the stream ends first.
 */
export function eventStream(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    async until(pattern: RegExp): Promise<void> {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    /** Stops reading; the server sees the client go away. */
    cancel: () => reader.cancel().catch(() => {}),
  };
}
