// @ts-check
// What every page of the front end shares: building elements, URLs under the hub's root
// (wherever it is mounted), the REST client with its one sign-out rule, and the socket.
import { io as vendoredIo } from "./vendor/socket.io.esm.min.js";

/**
 * @typedef {import("socket.io-client").Socket} Socket
 * @typedef {Partial<import("socket.io-client").ManagerOptions & import("socket.io-client").SocketOptions>} SocketOptions
 */

/** socket.io-client's own types for the vendored build of the same version (package.json). */
const io = /** @type {typeof import("socket.io-client").io} */ (/** @type {unknown} */ (vendoredIo));

/** The hub's root: the server serves this module at <root>static/<version>/shared.js. */
export const ROOT = new URL("../../", import.meta.url);

/** A path of the hub ("/api/v1/…") as a URL under its root. */
export function appUrl(/** @type {string} */ path) {
  return new URL(path.replace(/^\/+/, ""), ROOT).href;
}

/** A URL the hub handed out (uploads): only paths on this hub, never another site. */
export function hubFileUrl(/** @type {unknown} */ path) {
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//")) return null;
  const url = new URL(path.slice(1), ROOT);
  return url.origin === ROOT.origin && url.pathname.startsWith(ROOT.pathname) ? url.href : null;
}

/**
 * @typedef {{[key: string]: unknown, testid?: string, dataset?: Record<string, string>}} ElementProps
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * The one way pages build elements: text always goes through textContent (props), never
 * markup, so whatever a customer or agent typed stays text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {ElementProps} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const { testid, dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (testid) node.dataset.testid = testid;
  if (dataset) Object.assign(node.dataset, dataset);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** An element of the page that must exist. */
export function $(/** @type {string} */ id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing`);
  return node;
}

/**
 * A hub error answer ({error: {code, message, ...}}) or a network failure (status 0).
 * `details` is the whole error object: some errors carry more (`key`, `conversation_id`).
 */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {Record<string, unknown>} [details] */
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * @typedef {{method?: string, body?: unknown, headers?: Record<string, string>}} RequestOptions
 */

/**
 * A JSON call to the hub: `body` is sent as JSON (a FormData as it is); resolves to the answer,
 * throws an ApiError.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<any>}
 */
export async function request(path, { method = "GET", body, headers = {} } = {}) {
  /** @type {RequestInit} */
  const init = { method, headers: { ...headers } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...headers, "Content-Type": "application/json" };
  }
  let res;
  try {
    res = await fetch(appUrl(path), init);
  } catch (err) {
    throw new ApiError(0, "network_error", err instanceof Error ? err.message : String(err));
  }
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new ApiError(res.status, answer.error?.code || "http_error", answer.error?.message || res.statusText, answer.error || {});
  }
  return answer;
}

// The agent's sign-in, shared by the inbox and the console.
export const TOKEN = "hub:agent-token";
const SIGNED_OUT = "hub:signed-out";

export function agentToken() {
  return localStorage.getItem(TOKEN);
}

/** What "show the login" means on this page; the inbox shows its form, others go there. */
let showLogin = () => location.replace(appUrl("/agent/"));
export function onSignedOut(/** @type {() => void} */ handler) {
  showLogin = handler;
}

/** Forget the sign-in and show the login; `expired` says why on the login form. */
export function signOut(expired = false) {
  localStorage.removeItem(TOKEN);
  localStorage.removeItem(`${TOKEN}:me`);
  if (expired) sessionStorage.setItem(SIGNED_OUT, "1");
  showLogin();
}

/** @type {Promise<unknown> | null} */
let tokenChange = null;

/** This tab is getting a new token (a password change): the hub signs out the old token's
 * sockets before the answer with the new one arrives, so refusals meanwhile are not the end. */
/** @template T @param {Promise<T>} change @returns {Promise<T>} */
export function changingToken(change) {
  tokenChange = change;
  change.catch(() => {}).finally(() => { if (tokenChange === change) tokenChange = null; });
  return change;
}

/** A socket of this page was refused for the token it offered (`offered`): connect again
 * once a new token is here, or sign out when there is none. */
export function tokenRefused(/** @type {{connect: () => unknown}} */ socket, /** @type {string | null} */ offered) {
  if (tokenChange) { tokenChange.catch(() => {}).finally(() => socket.connect()); return; }
  const now = agentToken();
  if (now && now !== offered) socket.connect();
  else signOut(true);
}

/** Whether the last sign-out was the hub's doing (asked once, by the login form). */
export function takeExpiredNotice() {
  const expired = sessionStorage.getItem(SIGNED_OUT) === "1";
  sessionStorage.removeItem(SIGNED_OUT);
  return expired;
}

/**
 * The agent REST client: the signed-in agent's token; a 401 (expired token, disabled account)
 * signs out and shows the login, wherever it happens.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  try {
    return await request(path, { ...options, headers: { Authorization: `Bearer ${agentToken()}`, ...options.headers } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut(true);
    throw err;
  }
}

/**
 * Every item of a paged hub list (`{items, next}`), following `next` page after page: for
 * the short lists the inbox needs whole (agents).
 * @returns {Promise<any[]>}
 */
export async function apiAll(/** @type {string} */ path) {
  const separator = path.includes("?") ? "&" : "?";
  /** @type {any[]} */
  const items = [];
  /** @type {string | null} */
  let cursor = null;
  do {
    const page = await api(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page.items);
    cursor = page.next ?? null;
  } while (cursor);
  return items;
}

/** A refused socket connection whose reason is the token (expired, unknown, disabled). */
export function isAuthRefusal(/** @type {Error & {data?: unknown}} */ err) {
  return /auth|token|unauth/i.test(err.message) || /token_/.test(JSON.stringify(err.data ?? ""));
}

/** A Socket.IO connection to a namespace of this hub, over websocket, under its root. */
export function connect(/** @type {string} */ namespace, /** @type {SocketOptions} */ options = {}) {
  return io(ROOT.origin + namespace, { path: `${ROOT.pathname}socket.io`, transports: ["websocket"], ...options });
}

/** `before_seq` asking for the newest page of a conversation. */
export const NEWEST = Number.MAX_SAFE_INTEGER;
/** Messages per history page, in the inbox and the widget. */
export const PAGE = 50;
