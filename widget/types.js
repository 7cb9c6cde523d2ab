// @ts-check
// The hub's JSON as the front end reads it (docs/protocol.md): types only, never loaded.

/**
 * @typedef {{code: string, message: string}} ErrorBody
 * @typedef {{type: "contact" | "agent" | "bot" | "system", id: string | null, name: string | null}} Sender
 * @typedef {{url: string | null, name?: string, type?: string, size?: number, mime?: string, kept?: boolean, not_kept?: string}} Attachment
 * @typedef {"pending" | "sent" | "delivered" | "read" | "failed"} DeliveryStatus
 * @typedef {{status: DeliveryStatus, error?: ErrorBody, updated_at?: string}} Delivery
 * @typedef {string | {name?: string, address?: string, email?: string}} Address
 * @typedef {{
 *   subject?: string, from?: Address | Address[], to?: Address | Address[], cc?: Address | Address[],
 *   message_id?: string, html?: string, quoted?: string,
 * } & Record<string, unknown>} MessageMeta
 * @typedef {{
 *   id: string, conversation_id: string, seq: number, sender: Sender, type: string, text: string,
 *   attachments?: Attachment[], client_id?: string | null, created_at: string,
 *   delivery?: Delivery, meta?: MessageMeta,
 * }} Message
 * @typedef {"bot" | "queued" | "assigned" | "closed"} ConversationStatus
 * @typedef {{
 *   id: string, tenant?: string, channel: string, contact_id: string, status: ConversationStatus,
 *   agent_id?: string | null, skill?: string | null, created_at: string, assigned_at?: string | null,
 *   closed_at?: string | null, close_reason?: string | null, summary?: string | null,
 *   last_seq?: number, last_message_at?: string | null, last_message_preview?: string | null,
 *   queue_position?: number, reason?: string, leave_message?: boolean, agent?: {id: string, name: string} | null,
 * }} Conversation
 * @typedef {{channel: string, external_id?: string}} Identity
 * @typedef {{
 *   id: string, name?: string | null, phone?: string | null, email?: string | null, notes?: string | null,
 *   tags?: string[], attributes?: Record<string, any>, identities?: Identity[], blocked_until?: string | null,
 *   visit_count?: number, created_at?: string, last_seen_at?: string,
 * }} Contact
 * @typedef {{
 *   id: string, name: string, email: string, roles: string[], skills: string[], max_concurrent: number,
 *   presence?: string, disabled?: boolean, tenant?: string,
 * }} Agent
 * @typedef {{name: string, color: string}} Tag
 * @typedef {{title: string, text: string}} QuickReply
 */

export {};
