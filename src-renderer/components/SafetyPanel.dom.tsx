import { GUARD_NAMES, type GuardName } from '../../src-shared/contract/index.js';
import { GUARD_ACTIONS, guardChoice, useSafety, type GuardAction } from '../state/safetyStore.dom.js';
import { Panel, PanelButton, PanelError } from './Panel.dom.js';

/** Opens and closes the safety checks panel. */
export function SafetyButton() {
  const open = useSafety((state) => state.open);
  const toggle = useSafety((state) => state.toggle);
  return <PanelButton name="safety" label="Safety" open={open} onToggle={toggle} />;
}

const GUARD_TITLES: Record<GuardName, { title: string; what: string }> = {
  injection: { title: 'Prompt injection', what: 'Questions and document passages that try to give the assistant instructions.' },
  pii: { title: 'Personal data', what: 'Email addresses, phone numbers, card and account numbers in questions and answers.' },
  abuse: { title: 'Abusive language', what: 'Slurs, insults and profanity in questions and answers.' },
  length: { title: 'Length and hidden text', what: 'Over-long questions, binary junk and invisible characters.' },
};

const ACTION_LABELS: Record<GuardAction, string> = {
  block: 'Block',
  redact: 'Redact',
  warn: 'Warn',
};

/** Each guard on or off and what it does with what it finds; saved at once, in effect from the next question. */
export function SafetyPanel() {
  const open = useSafety((state) => state.open);
  const loaded = useSafety((state) => state.saved !== null);
  const error = useSafety((state) => state.error);
  const close = useSafety((state) => state.close);
  const dismissError = useSafety((state) => state.dismissError);
  if (!open) return null;
  return (
    <Panel name="safety" title="Safety checks" className="safety-panel" onClose={close}>
      {error !== null && (
        <PanelError data-testid="safety-error" onDismiss={dismissError}>
          {error}
        </PanelError>
      )}
      {!loaded ? (
        error === null && <p className="safety-note">Loading…</p>
      ) : (
        <>
          <ul className="item-list safety-list">
            {GUARD_NAMES.map((name) => (
              <GuardRow key={name} name={name} />
            ))}
          </ul>
          <p className="safety-note" data-testid="safety-applies">
            Changes are saved at once and apply from the next question.
          </p>
        </>
      )}
    </Panel>
  );
}

function GuardRow({ name }: { name: GuardName }) {
  const saved = useSafety((state) => state.saved);
  const choice = guardChoice(saved, name);
  const pending = useSafety((state) => state.pending[name] === true);
  const change = useSafety((state) => state.change);
  const { title, what } = GUARD_TITLES[name];
  // An action saved elsewhere (the CLI, the settings file) that this list does not offer is still shown as it is.
  const actions = GUARD_ACTIONS[name].includes(choice.action) ? GUARD_ACTIONS[name] : [...GUARD_ACTIONS[name], choice.action];
  return (
    <li className="safety-guard" data-testid="guard-row" data-guard={name} data-enabled={String(choice.enabled)} data-action={choice.action}>
      <label className="safety-toggle">
        <input
          type="checkbox"
          data-testid="guard-enabled"
          checked={choice.enabled}
          disabled={pending}
          onChange={(event) => void change(name, { enabled: event.target.checked })}
        />
        <span className="safety-title">{title}</span>
      </label>
      <span className="safety-what">{what}</span>
      <select
        className="safety-action"
        data-testid="guard-action"
        aria-label={`${title}: what to do`}
        value={choice.action}
        disabled={pending || !choice.enabled}
        onChange={(event) => void change(name, { action: event.target.value as GuardAction })}
      >
        {actions.map((action) => (
          <option key={action} value={action}>
            {ACTION_LABELS[action]}
          </option>
        ))}
      </select>
    </li>
  );
}
