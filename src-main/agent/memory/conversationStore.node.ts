import { randomUUID } from 'node:crypto';
import type { ChatMessage, Conversation, MessageStatus, TurnTimings } from '../../../src-shared/contract/index.js';
import type { StoredStage } from '../metrics/stageStats.js';
import type { SqliteDatabase } from './sqliteDatabase.node.js';

interface ConversationRow { id: string; title: string; created_at: number; updated_at: number }
interface MessageRow { id: number; conversation_id: string; turn_id: string; role: 'user' | 'assistant'; text: string; status: MessageStatus; created_at: number }

const toConversation = (row: ConversationRow): Conversation => ({
  id: row.id,
  title: row.title,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
const toMessage = (row: MessageRow): ChatMessage => ({
  id: row.id,
  conversationId: row.conversation_id,
  turnId: row.turn_id,
  role: row.role,
  text: row.text,
  status: row.status,
  createdAt: row.created_at,
});

const toStage = (row: { turn_id: string; name: string; start_ms: number; end_ms: number }): StoredStage => ({
  turnId: row.turn_id,
  name: row.name,
  startMs: row.start_ms,
  endMs: row.end_ms,
});

/** Conversations, messages and per-turn timings in SQLite. All statements are prepared once. */
export class ConversationStore {
  private readonly statements;
  private readonly writeStages: (stages: ReadonlyArray<{ turnId: string; name: string; startMs: number; endMs: number }>) => void;

  constructor(db: SqliteDatabase) {
    this.statements = {
      insertConversation: db.prepare('INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      getConversation: db.prepare<[string], ConversationRow>('SELECT * FROM conversations WHERE id = ?'),
      listConversations: db.prepare<[], ConversationRow>('SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC'),
      renameConversation: db.prepare('UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?'),
      touchConversation: db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?'),
      deleteConversation: db.prepare('DELETE FROM conversations WHERE id = ?'),
      insertMessage: db.prepare(
        'INSERT INTO messages (conversation_id, turn_id, role, text, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      updateMessage: db.prepare('UPDATE messages SET text = ?, status = ? WHERE id = ?'),
      insertVerdict: db.prepare(
        'INSERT INTO turn_verdicts (turn_id, guard, subject, outcome, action, reason, ms, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      verdictsOf: db.prepare('SELECT guard, subject, outcome, action, reason, ms FROM turn_verdicts WHERE turn_id = ? ORDER BY id'),
      // Turn by turn, each question before its answer. A turn's two rows are written together, so this is the
      // order of ids; grouping by turn also pairs rows that older versions stored interleaved.
      listMessages: db.prepare<[string, string], MessageRow>(
        `SELECT m.* FROM messages m
         JOIN (SELECT turn_id, MIN(id) AS first_id FROM messages WHERE conversation_id = ? GROUP BY turn_id) t ON t.turn_id = m.turn_id
         WHERE m.conversation_id = ?
         ORDER BY t.first_id, CASE m.role WHEN 'user' THEN 0 ELSE 1 END, m.id`,
      ),
      markStreamingCrashed: db.prepare("UPDATE messages SET status = 'crashed' WHERE status = 'streaming'"),
      markAnswerInterrupted: db.prepare(
        "UPDATE messages SET status = 'interrupted' WHERE turn_id = ? AND role = 'assistant' AND status = 'complete'",
      ),
      deleteTurn: db.prepare('DELETE FROM messages WHERE turn_id = ?'),
      listStages: db.prepare<[], { turn_id: string; name: string; start_ms: number; end_ms: number }>(
        'SELECT turn_id, name, start_ms, end_ms FROM turn_stages ORDER BY recorded_at, rowid',
      ),
      lastTurnStages: db.prepare<[], { turn_id: string; name: string; start_ms: number; end_ms: number }>(
        `SELECT turn_id, name, start_ms, end_ms FROM turn_stages
         WHERE turn_id = (SELECT turn_id FROM turn_stages ORDER BY recorded_at DESC, rowid DESC LIMIT 1) ORDER BY start_ms, end_ms`,
      ),
      insertStage: db.prepare('INSERT OR REPLACE INTO turn_stages (turn_id, name, start_ms, end_ms, recorded_at) VALUES (?, ?, ?, ?, ?)'),
      insertTimings: db.prepare(
        `INSERT OR REPLACE INTO turn_timings
         (turn_id, conversation_id, provider, model, cached, interrupted, ttft_ms, total_ms, tokens, timings_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
    const { insertStage } = this.statements;
    this.writeStages = db.transaction((stages: ReadonlyArray<{ turnId: string; name: string; startMs: number; endMs: number }>) => {
      const now = Date.now();
      for (const stage of stages) insertStage.run(stage.turnId, stage.name, stage.startMs, stage.endMs, now);
    });
  }

  /** Answers that were streaming when the process died are kept, marked as crashed. Returns how many. */
  recoverCrashedTurns(): number {
    return this.statements.markStreamingCrashed.run().changes;
  }

  /** A complete answer whose speech the user cut off: they did not hear all of it. */
  markAnswerInterrupted(turnId: string): boolean {
    return this.statements.markAnswerInterrupted.run(turnId).changes > 0;
  }

  createConversation(title: string): Conversation {
    const now = Date.now();
    const conversation = { id: randomUUID(), title, createdAt: now, updatedAt: now };
    this.statements.insertConversation.run(conversation.id, title, now, now);
    return conversation;
  }

  getConversation(id: string): Conversation | undefined {
    const row = this.statements.getConversation.get(id);
    return row ? toConversation(row) : undefined;
  }

  listConversations(): Conversation[] {
    return this.statements.listConversations.all().map(toConversation);
  }

  renameConversation(id: string, title: string): Conversation | undefined {
    this.statements.renameConversation.run(title, Date.now(), id);
    return this.getConversation(id);
  }

  deleteConversation(id: string): boolean {
    return this.statements.deleteConversation.run(id).changes > 0;
  }

  addMessage(conversationId: string, turnId: string, role: 'user' | 'assistant', text: string, status: MessageStatus): number {
    const now = Date.now();
    const info = this.statements.insertMessage.run(conversationId, turnId, role, text, status, now);
    this.statements.touchConversation.run(now, conversationId);
    return Number(info.lastInsertRowid);
  }

  updateMessage(id: number, text: string, status: MessageStatus): void {
    this.statements.updateMessage.run(text, status, id);
  }

  /** Removes a turn's question and answer (a turn refused before it was answered). */
  deleteTurn(turnId: string): void {
    this.statements.deleteTurn.run(turnId);
  }

  /** One stage of one turn, in ms since the turn's origin. */
  recordStage(turnId: string, name: string, startMs: number, endMs: number): void {
    this.statements.insertStage.run(turnId, name, startMs, endMs, Date.now());
  }

  /** Stages of turns, in ms since each turn's origin, in one transaction. */
  recordStages(stages: ReadonlyArray<{ turnId: string; name: string; startMs: number; endMs: number }>): void {
    this.writeStages(stages);
  }

  /** Every stored stage, oldest first. */
  listStages(): StoredStage[] {
    return this.statements.listStages.all().map(toStage);
  }

  /** The stages of the most recent turn. */
  lastTurnStages(): StoredStage[] {
    return this.statements.lastTurnStages.all().map(toStage);
  }

  listMessages(conversationId: string): ChatMessage[] {
    return this.statements.listMessages.all(conversationId, conversationId).map(toMessage);
  }

  /** A guard's verdict on a text of a turn (never the text itself). */
  recordVerdict(verdict: { turnId: string; guard: string; subject: string; outcome: string; action?: string; reason?: string; ms: number }): void {
    this.statements.insertVerdict.run(verdict.turnId, verdict.guard, verdict.subject, verdict.outcome, verdict.action ?? null, verdict.reason ?? null, verdict.ms, Date.now());
  }

  verdictsOf(turnId: string): Array<{ guard: string; subject: string; outcome: string; action: string | null; reason: string | null; ms: number }> {
    return this.statements.verdictsOf.all(turnId) as Array<{
      guard: string;
      subject: string;
      outcome: string;
      action: string | null;
      reason: string | null;
      ms: number;
    }>;
  }

  recordTimings(record: {
    turnId: string;
    conversationId: string;
    provider: string;
    model: string;
    cached: boolean;
    interrupted: boolean;
    timings: TurnTimings;
  }): void {
    this.statements.insertTimings.run(
      record.turnId,
      record.conversationId,
      record.provider,
      record.model,
      record.cached ? 1 : 0,
      record.interrupted ? 1 : 0,
      record.timings.ttftMs,
      record.timings.totalMs,
      record.timings.tokens,
      JSON.stringify(record.timings),
      Date.now(),
    );
  }
}
