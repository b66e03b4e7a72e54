export * from './channels.js';
export * from './agentErrors.js';
export * from './agentEntities.js';
export * from './agentCommands.js';
export * from './agentEvents.js';
export * from './wireMessages.js';
export * from './validate.js';
export * from './agentClient.js';
