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
 *   id: string, tenant?: string, channel: string, channel_id?: string | null, meta?: Record<string, unknown>,
 *   contact_id: string, status: ConversationStatus,
 *   agent_id?: string | null, skill?: string | null, created_at: string, assigned_at?: string | null,
 *   closed_at?: string | null, close_reason?: string | null, summary?: string | null,
 *   last_seq?: number, last_message_at?: string | null, last_message_preview?: string | null,
 *   queue_position?: number, reason?: string, leave_message?: boolean, agent?: {id: string, name: string} | null,
 *   rating?: {score: number, comment: string} | null,
 * }} Conversation
 * @typedef {{channel: string, external_id?: string}} Identity
 * @typedef {{
 *   id: string, name?: string | null, phone?: string | null, email?: string | null, notes?: string | null,
 *   tags?: string[], attributes?: Record<string, any>, identities?: Identity[], blocked_until?: string | null,
 *   visit_count?: number, created_at?: string, last_seen_at?: string, merged_into?: string | null,
 *   merged_from?: {contact_id: string, name?: string, at: string, by: string}[],
 * }} Contact
 * @typedef {{
 *   id: string, name: string, email: string, roles: string[], skills: string[], max_concurrent: number,
 *   presence?: string, disabled?: boolean, tenant?: string, department_id?: string | null,
 *   limits?: {max_text_length: number, upload_max_bytes: number},
 * }} Agent
 * @typedef {{
 *   key: string, kind: "text" | "secret" | "integer" | "boolean" | "choice", secret: boolean, required: boolean,
 *   choices: string[], default: string | number | boolean | null,
 * }} ChannelField
 * @typedef {{type: string, fields: ChannelField[]}} ChannelTypeInfo
 * @typedef {"connecting" | "ok" | "error" | "disabled"} ChannelStatus
 * @typedef {{
 *   id: string, tenant?: string, type: string, name: string, enabled: boolean, status: ChannelStatus,
 *   last_error: string, config: Record<string, unknown>, inbound_url: string | null,
 *   created_at: string, updated_at: string,
 * }} ChannelAccount
 * @typedef {{id: string, type: string, name: string}} ChannelAccountName
 * @typedef {{name: string, color: string}} Tag
 * @typedef {{title: string, text: string}} QuickReply
 */

export {};
