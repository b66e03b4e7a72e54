import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  AgentError,
  type AgentEvent,
  type AgentStatus,
  type ChatMessage,
  type CommandResult,
  type Conversation,
  type ErrorCode,
  type MessageStatus,
  type TurnRoute,
  type TurnTimings,
} from '../../src-shared/contract/index.js';
import type { ConnectionState, HostAgentClient } from '../transport/hostConnection.js';
import { withCouncilEvent, type CouncilOutcome, type CouncilsByTurn } from './councilView.js';
import { errorText } from './storeHelpers.js';

/**
 * A message's state as shown: the stored states, and `blocked` for a question a guard refused (seen live only: the
 * agent keeps nothing of it).
 */
export type UiMessageStatus = MessageStatus | 'blocked';

/** A sentence of the answer that an output guard withheld: where it was in the text (a character offset), and why. */
export interface WithheldMark {
  at: number;
  guard: string;
  reason: string;
}

export interface UiMessage {
  /** Stable React key: `db:<id>` for loaded messages, `<turnId>:user|assistant` for turns seen live. */
  key: string;
  role: 'user' | 'assistant';
  text: string;
  status: UiMessageStatus;
  turnId?: string;
  /** Only answers streamed in this session have these; stored messages do not keep them. */
  timings?: TurnTimings;
  cached?: boolean;
  /** A blocked turn: which guard refused the question and why, shown in place of the answer. */
  refusal?: { guard: string; reason: string };
  /** Sentences withheld while the answer streamed, in order (never stored: a reload shows the answer without them). */
  withheld?: WithheldMark[];
  /** Which model tier answered and why (from the turn's `done`, when the agent says). */
  route?: TurnRoute;
  /** A council's answer: its members, and whose text the answer is (from the turn's `done`). */
  council?: CouncilOutcome;
}

export interface Notice {
  id: number;
  level: 'info' | 'warning';
  message: string;
}

export type ModelStatus = AgentStatus['llm'];

export interface ChatState {
  connection: ConnectionState;
  conversations: Conversation[];
  activeConversationId: string | null;
  messages: UiMessage[];
  loadingMessages: boolean;
  /** A chat:send is on its way and has not been accepted or refused yet. */
  sending: boolean;
  modelStatus: ModelStatus | null;
  notices: Notice[];
  error: string | null;
  /** The code of `error` when the agent gave one (so a view that already explains it, e.g. MODEL_MISSING, can skip it). */
  errorCode: ErrorCode | null;
  /** Questions go to a council of models (the agent's default members) instead of the one chat model; kept for the session. */
  councilMode: boolean;
  /** The `council` events of the turns of this session, by turn id, in order: the council view of each answer. */
  councils: CouncilsByTurn;

  /** Subscribes to the agent and loads the first state; returns the unsubscribe. */
  start(): () => void;
  selectConversation(id: string): Promise<void>;
  newConversation(): Promise<void>;
  renameConversation(id: string, title: string): Promise<void>;
  deleteConversation(id: string): Promise<void>;
  /** Resolves true when the agent accepted the question (so the input can be cleared). */
  send(text: string): Promise<boolean>;
  stop(): Promise<void>;
  dismissError(): void;
  dismissNotice(id: number): void;
  setCouncilMode(on: boolean): void;
}

export type ChatStore = StoreApi<ChatState>;

const ACTIVE_CONVERSATION_KEY = 'assistant.activeConversationId';
const MAX_NOTICES = 5;

/** The turns of the active conversation not answered yet: the one being answered and any waiting behind it. */
export function streamingTurnIds(state: Pick<ChatState, 'messages'>): string[] {
  return state.messages
    .filter((message) => message.role === 'assistant' && message.status === 'streaming' && message.turnId !== undefined)
    .map((message) => message.turnId!);
}

/** The turn now being answered in the active conversation, if any (questions asked meanwhile wait behind it). */
export function streamingTurnId(state: Pick<ChatState, 'messages'>): string | null {
  return streamingTurnIds(state)[0] ?? null;
}

function failure(error: unknown): Pick<ChatState, 'error' | 'errorCode'> {
  return { error: errorText(error), errorCode: error instanceof AgentError ? error.code : null };
}

function fromChatMessage(message: ChatMessage): UiMessage {
  return { key: `db:${message.id}`, role: message.role, text: message.text, status: message.status, turnId: message.turnId };
}

/** Adds the question and an empty, streaming answer for a turn, unless the turn is already shown. */
function withTurn(messages: UiMessage[], turnId: string, question: string): UiMessage[] {
  if (messages.some((message) => message.turnId === turnId)) return messages;
  return [
    ...messages,
    { key: `${turnId}:user`, role: 'user', text: question, status: 'complete', turnId },
    { key: `${turnId}:assistant`, role: 'assistant', text: '', status: 'streaming', turnId },
  ];
}

function updateAnswer(messages: UiMessage[], turnId: string, update: (answer: UiMessage) => UiMessage): UiMessage[] {
  return messages.map((message) => (message.role === 'assistant' && message.turnId === turnId ? update(message) : message));
}

/** The events that belong to one turn of a conversation and change how it is shown. */
type TurnEvent = Extract<AgentEvent, { type: 'turn-started' | 'token' | 'done' | 'blocked' | 'answer-withheld' }>;

/** The `chat:send` arguments for a question, to a council when `councilMode` is on (`{}`: the agent's default members). */
export function chatSendArgs(text: string, conversationId: string | null, councilMode: boolean) {
  return {
    ...(conversationId !== null && { conversationId }),
    text,
    ...(councilMode && { council: {} }),
  };
}

/**
 * What stays on screen when the shown conversation no longer exists (a refused first question is deleted with its
 * conversation; another window may delete one): the refusals seen here and turns still running, nothing that was stored.
 */
function keptWithoutConversation(messages: UiMessage[]): UiMessage[] {
  const live = new Set(
    messages
      .filter((message) => message.role === 'assistant' && (message.status === 'blocked' || message.status === 'streaming'))
      .map((message) => message.turnId),
  );
  return messages.filter((message) => message.turnId !== undefined && live.has(message.turnId));
}

function rememberActiveConversation(id: string | null): void {
  try {
    if (id === null) localStorage.removeItem(ACTIVE_CONVERSATION_KEY);
    else localStorage.setItem(ACTIVE_CONVERSATION_KEY, id);
  } catch {
    // Storage can be disabled; the app then just starts without a selection.
  }
}

function rememberedActiveConversation(): string | null {
  try {
    return localStorage.getItem(ACTIVE_CONVERSATION_KEY);
  } catch {
    return null;
  }
}

export function createChatStore(client: HostAgentClient): ChatStore {
  /**
   * Turn events that arrive while a send is in flight for a conversation that is not shown yet: when the agent creates
   * the conversation for a first question, its events can overtake the chat:send result that names it.
   */
  const earlyTurnEvents: AgentEvent[] = [];
  let nextNoticeId = 1;
  let messagesRequest = 0;

  return createStore<ChatState>()((set, get) => {
    async function loadMessages(conversationId: string): Promise<void> {
      const request = ++messagesRequest;
      set({ loadingMessages: true });
      try {
        const messages = await client.call('conversations:messages', { id: conversationId });
        if (request === messagesRequest && get().activeConversationId === conversationId) {
          set({ messages: messages.map(fromChatMessage) });
        }
      } catch (error) {
        if (request === messagesRequest) set(failure(error));
      } finally {
        if (request === messagesRequest) set({ loadingMessages: false });
      }
    }

    async function refreshConversations(): Promise<void> {
      const shownWhenAsked = get().activeConversationId;
      try {
        const conversations = await client.call('conversations:list');
        set({ conversations });
        // The conversation shown when the list was asked for is not in it: it was deleted (a refused first question
        // takes its conversation with it). Show no conversation, so the next question starts a new one. A selection
        // made while the list was on its way is newer than the list, and stays.
        const { activeConversationId, messages } = get();
        if (shownWhenAsked !== null && activeConversationId === shownWhenAsked && !conversations.some((c) => c.id === shownWhenAsked)) {
          set({ activeConversationId: null, messages: keptWithoutConversation(messages) });
          rememberActiveConversation(null);
        }
      } catch (error) {
        set(failure(error));
      }
    }

    /** Loads everything again: at start and after a reconnect, when events may have been missed. */
    async function resync(): Promise<void> {
      try {
        const [status, conversations] = await Promise.all([client.call('agent:status'), client.call('conversations:list')]);
        const wanted = get().activeConversationId ?? rememberedActiveConversation();
        const active = conversations.some((conversation) => conversation.id === wanted) ? wanted : null;
        set({ modelStatus: status.llm, conversations, activeConversationId: active });
        if (active) await loadMessages(active);
        else set({ messages: [] });
      } catch (error) {
        set(failure(error));
      }
    }

    function applyTurnEvent(event: TurnEvent): void {
      const { activeConversationId, messages } = get();
      const known = messages.some((message) => message.turnId === event.turnId);
      // A refusal always reaches the turn it ends, even when its conversation was already dropped from view.
      if (event.conversationId !== activeConversationId && !(event.type === 'blocked' && known)) {
        if (get().sending) earlyTurnEvents.push(event);
        else if (event.type === 'turn-started' && activeConversationId === null) {
          // A voice turn started a new conversation while none was shown: show it, as a typed question would be.
          set({ activeConversationId: event.conversationId, messages: withTurn([], event.turnId, event.question) });
          rememberActiveConversation(event.conversationId);
        }
        return;
      }
      if (event.type === 'turn-started') {
        // The question as the agent keeps it (personal data masked), for a turn already shown as it was typed.
        const shown = withTurn(messages, event.turnId, event.question);
        set({ messages: shown.map((m) => (m.role === 'user' && m.turnId === event.turnId && !m.key.startsWith('db:') ? { ...m, text: event.question } : m)) });
        return;
      }
      if (!known) {
        // A turn that started before this view loaded: the stored messages are the truth once it ends.
        if (event.type === 'done') void loadMessages(event.conversationId);
        return;
      }
      const loadedFromStore = messages.some((message) => message.turnId === event.turnId && message.key.startsWith('db:'));
      if (event.type === 'token') {
        // An answer loaded from the store mid-stream holds the text flushed so far, not every token before this
        // one: it is brought up to date by the turn's `done`, which carries the whole answer.
        if (loadedFromStore) return;
        set({ messages: updateAnswer(messages, event.turnId, (answer) => ({ ...answer, text: answer.text + event.text })) });
        return;
      }
      if (event.type === 'answer-withheld') {
        // Where the sentence was is known only in text streamed here (a stored answer's text may lag behind it).
        if (loadedFromStore) return;
        set({
          messages: updateAnswer(messages, event.turnId, (answer) => ({
            ...answer,
            withheld: [...(answer.withheld ?? []), { at: answer.text.length, guard: event.guard, reason: event.reason }],
          })),
        });
        return;
      }
      if (event.type === 'blocked') {
        // Refused before any token: the turn ends here with the reason in place of an answer. The agent kept
        // nothing of it, and a first question's conversation is gone with it: the list says whether it still exists.
        set({
          messages: updateAnswer(messages, event.turnId, (answer) => ({
            ...answer,
            text: '',
            status: 'blocked',
            refusal: { guard: event.guard, reason: event.reason },
          })),
        });
        void refreshConversations();
        return;
      }
      set({
        messages: updateAnswer(messages, event.turnId, (answer) => ({
          ...answer,
          text: event.text,
          status: event.interrupted ? 'interrupted' : 'complete',
          timings: event.timings,
          cached: event.cached,
          ...(event.route && { route: event.route }),
          ...(event.council && { council: event.council }),
        })),
      });
    }

    function onEvent(event: AgentEvent): void {
      switch (event.type) {
        case 'turn-started':
        case 'token':
        case 'done':
        case 'blocked':
        case 'answer-withheld':
          applyTurnEvent(event);
          return;
        case 'error': {
          const { activeConversationId, sending } = get();
          if (event.conversationId !== undefined && event.conversationId !== activeConversationId) {
            if (sending) earlyTurnEvents.push(event);
            return;
          }
          set({ error: event.message, errorCode: event.code });
          // What the agent kept of a failed turn is the truth; reload it.
          if (event.turnId !== undefined && activeConversationId !== null) void loadMessages(activeConversationId);
          return;
        }
        case 'status':
          set({ modelStatus: event.status.llm });
          return;
        case 'notice': {
          const notice: Notice = { id: nextNoticeId++, level: event.level, message: event.message };
          set({ notices: [...get().notices, notice].slice(-MAX_NOTICES) });
          return;
        }
        case 'conversations-changed':
          void refreshConversations();
          return;
        case 'council': {
          // Council events name no conversation: they belong to a turn shown here, or one whose council is already kept.
          const { councils, messages, sending } = get();
          const known = messages.some((message) => message.turnId === event.turnId);
          if (!known && !councils[event.turnId] && sending) {
            earlyTurnEvents.push(event);
            return;
          }
          const next = withCouncilEvent(councils, event, known);
          if (next !== councils) set({ councils: next });
          return;
        }
        case 'speech-stop': {
          // A barge-in on an answer whose text had finished marks it interrupted in the store: show that.
          const { activeConversationId, messages } = get();
          if (event.turnId && activeConversationId !== null && !messages.some((m) => m.status === 'streaming')) {
            void loadMessages(activeConversationId);
          }
          return;
        }
      }
    }

    return {
      connection: client.connectionState,
      conversations: [],
      activeConversationId: null,
      messages: [],
      loadingMessages: false,
      sending: false,
      modelStatus: null,
      notices: [],
      error: null,
      errorCode: null,
      councilMode: false,
      councils: {},

      start() {
        const unlistenEvents = client.listen(onEvent);
        const unlistenConnection = client.onConnectionChange((connection) => {
          set({ connection });
          if (connection === 'open') void resync();
        });
        set({ connection: client.connectionState });
        if (client.connectionState === 'open') void resync();
        return () => {
          unlistenEvents();
          unlistenConnection();
        };
      },

      async selectConversation(id) {
        if (get().activeConversationId === id) return;
        set({ activeConversationId: id, messages: [] });
        rememberActiveConversation(id);
        await loadMessages(id);
      },

      async newConversation() {
        try {
          const conversation = await client.call('conversations:create', {});
          set({
            conversations: [conversation, ...get().conversations.filter((existing) => existing.id !== conversation.id)],
            activeConversationId: conversation.id,
            messages: [],
          });
          rememberActiveConversation(conversation.id);
        } catch (error) {
          set(failure(error));
        }
      },

      async renameConversation(id, title) {
        try {
          const renamed = await client.call('conversations:rename', { id, title });
          set({ conversations: get().conversations.map((conversation) => (conversation.id === id ? renamed : conversation)) });
        } catch (error) {
          set(failure(error));
        }
      },

      async deleteConversation(id) {
        try {
          await client.call('conversations:delete', { id });
          set({ conversations: get().conversations.filter((conversation) => conversation.id !== id) });
          if (get().activeConversationId === id) {
            set({ activeConversationId: null, messages: [] });
            rememberActiveConversation(null);
          }
        } catch (error) {
          set(failure(error));
        }
      },

      async send(text) {
        let conversationId = get().activeConversationId;
        const { councilMode } = get();
        set({ sending: true, error: null, errorCode: null });
        earlyTurnEvents.length = 0;
        try {
          let accepted: CommandResult<'chat:send'>;
          try {
            accepted = await client.call('chat:send', chatSendArgs(text, conversationId, councilMode));
          } catch (error) {
            const gone = conversationId !== null && error instanceof AgentError && error.code === 'NOT_FOUND' && get().activeConversationId === conversationId;
            if (!gone) throw error;
            // The conversation shown was deleted before the list said so (a refused first question takes its
            // conversation with it): the question starts a new one, as it would have from an empty view.
            conversationId = null;
            set({ activeConversationId: null, messages: keptWithoutConversation(get().messages) });
            rememberActiveConversation(null);
            accepted = await client.call('chat:send', chatSendArgs(text, null, councilMode));
          }
          if (get().activeConversationId !== conversationId) return true; // the user moved on meanwhile
          if (accepted.conversationId !== conversationId) {
            set({ activeConversationId: accepted.conversationId, messages: [] });
            rememberActiveConversation(accepted.conversationId);
          }
          set({ messages: withTurn(get().messages, accepted.turnId, text) });
          for (const event of earlyTurnEvents.splice(0)) onEvent(event);
          return true;
        } catch (error) {
          set(failure(error));
          return false;
        } finally {
          set({ sending: false });
          earlyTurnEvents.length = 0;
        }
      },

      async stop() {
        // Stop means stop: the answer being written and the questions waiting behind it.
        const turnIds = streamingTurnIds(get());
        if (turnIds.length === 0) return;
        try {
          // Each turn ends with a `done` event marked interrupted; that is what updates the view.
          await Promise.all(turnIds.reverse().map((turnId) => client.call('chat:cancel', { turnId })));
        } catch (error) {
          set(failure(error));
        }
      },

      dismissError() {
        set({ error: null, errorCode: null });
      },

      dismissNotice(id) {
        set({ notices: get().notices.filter((notice) => notice.id !== id) });
      },

      setCouncilMode(on) {
        set({ councilMode: on });
        // Spoken questions go to the council too (only its final answer is spoken); voice may be off in this session.
        client.call('voice:configure', { council: on }).catch(() => undefined);
      },
    };
  });
}
