import PQueue from 'p-queue';

/**
 * The utterances waiting to be answered, handled one at a time in the order they were spoken. An utterance's
 * handler ends once its question is transcribed and its chat turn has started, so the next one can interrupt the
 * answer (or wait for it, as the interruption policy says).
 */
export class UtteranceQueue<U> {
  private readonly queue = new PQueue({ concurrency: 1 });
  /** Utterances added since the last `drain`. */
  private added = 0;

  constructor(private readonly handle: (utterance: U) => Promise<void>) {}

  add(utterance: U): void {
    this.added++;
    // The handler reports its own failures (as error events); one failing does not hold up the next.
    void this.queue.add(() => this.handle(utterance)).catch(() => undefined);
  }

  /** Resolves once every utterance added so far has been handled, with how many were added since the last call. */
  async drain(): Promise<number> {
    await this.queue.onIdle();
    const added = this.added;
    this.added = 0;
    return added;
  }

  /** Utterances waiting or being handled. */
  get size(): number {
    return this.queue.size + this.queue.pending;
  }
}
