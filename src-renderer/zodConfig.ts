import { z } from 'zod';

// zod's JIT probes `new Function`, which the host's Content-Security-Policy forbids; the interpreter is fast enough here.
// Imported first by main.dom.tsx, so it runs before any schema is built.
z.config({ jitless: true });
