import { toErrorShape, type ChatMessage } from '../../src-shared/contract/index.js';
import { resolveAgentConfig } from '../agent/agentConfig.node.js';
import { ConversationStore } from '../agent/memory/conversationStore.node.js';
import { openSqliteDatabase } from '../agent/memory/sqliteDatabase.node.js';
import { databasePathOf } from '../agent/memory/dataDirectory.node.js';
import { existsSync } from 'node:fs';
import { jsonLine, writeCommandError, writeUsageError, type CommandIo } from './commandIo.js';
import { parseCommandLine } from './commandLine.node.js';

const USAGE = `Usage: assistant history [<conversation id>] [--json] [--data-dir <dir>]

Without an id: the conversations, newest first. With an id: that conversation, each question followed by its own
answer (an answer that was cut off says so). Loads no model.
`;

const STATUS_NOTE: Partial<Record<ChatMessage['status'], string>> = {
  interrupted: ' [interrupted]',
  crashed: ' [cut off: the app stopped]',
  streaming: ' [still being answered]',
};

export async function runHistoryCommand(args: string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(args, { json: { type: 'boolean' }, 'data-dir': { type: 'string' } }, USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > 1) return writeUsageError(io, args, 'history takes at most one conversation id.', USAGE);
  const json = values.json === true;
  const id = positionals[0];
  try {
    const dataDir = resolveAgentConfig({ dataDir: values['data-dir'] }).dataDir;
    // Read-only: a profile that has no database yet is not created just to say it is empty.
    if (!existsSync(databasePathOf(dataDir))) {
      if (id !== undefined) {
        writeCommandError(io, json, { code: 'NOT_FOUND', message: `Conversation ${id} does not exist (no conversations in ${dataDir} yet).` });
        return 1;
      }
      io.stdout.write(json ? jsonLine({ type: 'conversations', conversations: [] }) : 'No conversations yet.\n');
      return 0;
    }
    const db = openSqliteDatabase(dataDir);
    try {
      const store = new ConversationStore(db);
      if (id === undefined) {
        const conversations = store.listConversations();
        if (json) io.stdout.write(jsonLine({ type: 'conversations', conversations }));
        else if (conversations.length === 0) io.stdout.write('No conversations yet.\n');
        else for (const c of conversations) io.stdout.write(`${c.id}  ${new Date(c.updatedAt).toISOString().slice(0, 16)}  ${printable(c.title)}\n`);
        return 0;
      }
      if (!store.getConversation(id)) {
        writeCommandError(io, json, { code: 'NOT_FOUND', message: `Conversation ${id} does not exist. "assistant history" lists them.` });
        return 1;
      }
      const messages = store.listMessages(id);
      if (json) io.stdout.write(jsonLine({ type: 'messages', conversationId: id, messages }));
      else for (const m of messages) io.stdout.write(m.role === 'user' ? `> ${printable(m.text)}\n` : `${printable(m.text)}${STATUS_NOTE[m.status] ?? ''}\n\n`);
      return 0;
    } finally {
      db.close();
    }
  } catch (error) {
    writeCommandError(io, json, toErrorShape(error));
    return 1;
  }
}

/**
 * Stored text as the terminal may show it: C0 and C1 control characters (ESC of a colour or cursor code, BEL, CR,
 * DEL...) become visible escapes such as \\x1b, so a stored question cannot drive the terminal. Newline and tab stay.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
