// @ts-check
// Why the hub refused something a visitor or agent sent (a message's ack, an upload's answer),
// in the reader's language, and whether trying again can help: a file too large or a text
// too long never gets through, a dropped connection or a rate limit does later.
import { addStrings, knownText, t } from "./i18n.js";
import { ApiError } from "./shared.js";
import { sizeText } from "./render.js";

/**
 * @typedef {{code?: string, message?: string, limit?: number, retry_after?: number} & Record<string, unknown>} Refused
 * @typedef {{text: string, retry: boolean}} Refusal
 */

/** Codes that may pass on a later try; every other refusal is final. */
const TRANSIENT = new Set(["network_error", "timeout", "rate_limited", "insufficient_storage", "shutting_down", "http_error", "internal"]);

/**
 * The reason and whether to offer a retry, from an ack's `error`, an ApiError or anything thrown.
 * @param {unknown} error
 * @returns {Refusal}
 */
export function refusal(error) {
  /** @type {Refused} */
  let body = {};
  let status = 0;
  if (error instanceof ApiError) {
    body = { ...error.details, code: error.code, message: error.message };
    status = error.status;
  } else if (error instanceof Error) {
    // socket.io's emitWithAck with a timeout rejects with a plain Error when no ack came.
    body = { code: "timeout", message: error.message };
  } else if (error && typeof error === "object") {
    body = /** @type {Refused} */ (error);
  }
  const code = body.code || "";
  const retry = TRANSIENT.has(code) || status >= 500;
  const key = code.includes("quota") ? "rf_quota" : `rf_${code}`;
  const vars = {
    limit: code === "file_too_large" ? sizeText(Number(body.limit)) || "" : String(body.limit ?? ""),
    seconds: String(body.retry_after ?? ""),
  };
  let text = knownText(key, vars);
  if (text === null || (code === "file_too_large" && !vars.limit) || (code === "text_too_long" && !vars.limit)) {
    text = t(code === "file_too_large" ? "rf_file_too_large_plain" : code === "text_too_long" ? "rf_text_too_long_plain" : "rf_other",
      { reason: body.message || code || "?" });
  }
  return { text, retry };
}

/**
 * A refused request's error in the page's words where it has some for that code (`prefix` +
 * code, such as "mergeErr_conversation_open"), else the error as it came.
 * @param {unknown} err
 * @param {string} prefix
 */
export function explained(err, prefix) {
  const known = err instanceof ApiError ? knownText(`${prefix}${err.code}`) : null;
  return known === null ? err : new Error(known);
}

/** The page's own refusal of a text past the limit, before anything is sent. */
export function tooLongText(/** @type {number} */ length, /** @type {number} */ limit) {
  return t("rf_too_long_here", { n: length, limit, over: length - limit });
}

/** The page's own refusal of a file past the upload limit, before it is uploaded. */
export function fileTooLargeText(/** @type {number} */ limit) {
  return t("rf_file_too_large", { limit: sizeText(limit) });
}

addStrings({
  en: {
    rf_text_too_long: "Not sent: a message holds at most {limit} characters.",
    rf_text_too_long_plain: "Not sent: the message is too long.",
    rf_too_long_here: "Too long to send: {n} characters, {over} over the limit of {limit}.",
    rf_file_too_large: "Not sent: files are limited to {limit}.",
    rf_file_too_large_plain: "Not sent: the file is too large.",
    rf_invalid_file_type: "Not sent: this kind of file is not accepted (images, PDF, text, zip, Office).",
    rf_quota: "Not sent: the upload allowance is used up.",
    rf_rate_limited: "Too many at once: try again in {seconds} s.",
    rf_insufficient_storage: "The service is short of disk space: try again later.",
    rf_shutting_down: "The service is restarting: try again in a moment.",
    rf_network_error: "No connection to the service: try again.",
    rf_timeout: "No answer from the service: try again.",
    rf_http_error: "The service failed: try again.",
    rf_internal: "The service failed: try again.",
    rf_empty_text: "Not sent: the message is empty.",
    rf_blocked: "You can no longer send messages in this chat.",
    rf_conversation_closed: "Not sent: the conversation is closed.",
    rf_attachments_unsupported: "Not sent: this channel cannot carry files.",
    rf_other: "Not sent: {reason}",
    rf_retry: "Retry",
  },
  zh: {
    rf_text_too_long: "发送失败：每条消息最多 {limit} 个字。",
    rf_text_too_long_plain: "发送失败：消息过长。",
    rf_too_long_here: "消息过长，无法发送：共 {n} 个字，超出上限（{limit} 字）{over} 个字。",
    rf_file_too_large: "发送失败：文件不能超过 {limit}。",
    rf_file_too_large_plain: "发送失败：文件过大。",
    rf_invalid_file_type: "发送失败：不支持此类文件（支持图片、PDF、文本、zip、Office 文档）。",
    rf_quota: "发送失败：上传额度已用完。",
    rf_rate_limited: "发送过于频繁，请 {seconds} 秒后重试。",
    rf_insufficient_storage: "服务器存储空间不足，请稍后重试。",
    rf_shutting_down: "服务正在重启，请稍后重试。",
    rf_network_error: "无法连接服务器，请重试。",
    rf_timeout: "服务器未响应，请重试。",
    rf_http_error: "服务出错，请重试。",
    rf_internal: "服务出错，请重试。",
    rf_empty_text: "发送失败：消息为空。",
    rf_blocked: "您已无法在此会话中发送消息。",
    rf_conversation_closed: "发送失败：会话已结束。",
    rf_attachments_unsupported: "发送失败：该渠道不支持发送文件。",
    rf_other: "发送失败：{reason}",
    rf_retry: "重试",
  },
});
