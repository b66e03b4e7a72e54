/** What may interrupt the assistant. */
export type InterruptionTrigger =
  /** The VAD heard the user start to speak. */
  | 'speech-start'
  /** The talk key went down. */
  | 'talk-key'
  /** The next question, already transcribed or about to be, is ready to be answered. */
  | 'next-question';

/** Where the assistant is with the current voice turn. */
export type AssistantActivity = 'transcribing' | 'thinking' | 'speaking';

export interface InterruptionContext {
  trigger: InterruptionTrigger;
  activity: AssistantActivity;
}

/**
 * Decides whether the user interrupts the assistant (barge-in): the answer stops being generated and spoken and is
 * kept, marked interrupted. Swappable, e.g. to never interrupt, or to interrupt only on the talk key. When it says
 * no, a new question waits until the answer before it has been spoken.
 */
export interface InterruptionPolicy {
  shouldInterrupt(context: InterruptionContext): boolean;
}

/**
 * The default. Speaking over an answer (thinking or speaking) interrupts it; speaking while the last utterance is
 * still being transcribed does not, since that utterance is the user's own words and is answered first. The talk key
 * interrupts whatever is going on. A new question interrupts the answer to the previous one.
 */
export const bargeInInterruptionPolicy: InterruptionPolicy = {
  shouldInterrupt: ({ trigger, activity }) => trigger === 'talk-key' || activity !== 'transcribing',
};

/** The assistant always finishes: questions asked meanwhile are answered afterwards, in order. */
export const neverInterruptPolicy: InterruptionPolicy = {
  shouldInterrupt: () => false,
};
