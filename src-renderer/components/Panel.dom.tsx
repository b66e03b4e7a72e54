import type { HTMLAttributes, ReactNode } from 'react';

/**
 * A panel under the chat header (models, documents, performance): `name` makes its ids, so its section is
 * `#${name}-panel` (also its test id), and its button (below) says which panel it opens.
 */
export function Panel({ name, title, className, onClose, children }: { name: string; title: string; className?: string; onClose: () => void; children: ReactNode }) {
  return (
    <section className={`panel${className ? ` ${className}` : ''}`} id={`${name}-panel`} data-testid={`${name}-panel`} aria-label={title}>
      <header className="panel-header">
        <h2 className="panel-title">{title}</h2>
        <button type="button" className="banner-dismiss" aria-label={`Close ${title.toLowerCase()} panel`} onClick={onClose}>
          ×
        </button>
      </header>
      {children}
    </section>
  );
}

/** Opens and closes the panel of the same `name`; `badge` (e.g. how far a download is) shows after the label. */
export function PanelButton({ name, label, open, onToggle, badge = null }: { name: string; label: string; open: boolean; onToggle: () => void; badge?: string | null }) {
  return (
    <button
      type="button"
      className={`button button--small panel-button${open ? ' panel-button--open' : ''}`}
      data-testid={`${name}-button`}
      aria-expanded={open}
      aria-controls={`${name}-panel`}
      onClick={onToggle}
    >
      {label}
      {badge !== null && (
        <span className="panel-button-badge" data-testid={`${name}-button-progress`}>
          {' '}
          · {badge}
        </span>
      )}
    </button>
  );
}

/** A problem shown in a panel, with × when it can be dismissed. Other attributes (test id, data-*) go on the line. */
export function PanelError({ children, onDismiss, ...attributes }: HTMLAttributes<HTMLParagraphElement> & { [data: `data-${string}`]: string; onDismiss?: () => void }) {
  return (
    <p className="panel-error" role="alert" {...attributes}>
      {children}
      {onDismiss && (
        <button type="button" className="banner-dismiss" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </p>
  );
}

/** The head row of a table of items: a column per name, then the (unlabelled) column of their buttons. */
export function ItemTableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        <th scope="col">
          <span className="visually-hidden">Actions</span>
        </th>
      </tr>
    </thead>
  );
}
