// @ts-check
// Delivery state of outbound messages (sending / sent / delivered / read / failed with the
// platform's reason) and the retry of a failed one. The hub pushes every change as
// `message.delivery`; `message.retry` asks for another attempt.
import { addStrings, t } from "../i18n.js";
import { el } from "../shared.js";

/** @import { Delivery, Message } from "../types.js" */

/**
 * The newer of two states of one message's delivery (pages and live events can cross).
 * @param {Delivery | undefined} known
 * @param {Delivery} incoming
 */
export function newer(known, incoming) {
  if (!known?.updated_at || !incoming.updated_at) return incoming;
  return incoming.updated_at >= known.updated_at ? incoming : known;
}

/**
 * The line under an outbound message; a failed one offers "retry" when `onRetry` is given.
 * @param {Message} m
 * @param {((m: Message) => Promise<void>) | null} onRetry
 */
export function deliveryLine(m, onRetry) {
  const delivery = /** @type {Delivery} */ (m.delivery);
  const status = ["pending", "sent", "delivered", "read", "failed"].includes(delivery.status) ? delivery.status : "pending";
  const line = el("div", { className: `delivery dl-${status}`, testid: "message-delivery", dataset: { status } },
    el("span", { className: "dl-state", textContent: t(`dl_${status}`) }));
  if (status !== "failed") return line;
  const reason = delivery.error?.message || delivery.error?.code || "";
  if (reason) line.append(el("span", { className: "dl-reason", testid: "message-delivery-error", textContent: reason }));
  if (onRetry) {
    const retry = el("button", { type: "button", className: "dl-retry", testid: "message-retry", textContent: t("dl_retry") });
    retry.onclick = async () => {
      retry.disabled = true;
      line.querySelector(".dl-retry-error")?.remove();
      try {
        await onRetry(m);
      } catch (err) {
        retry.disabled = false;
        line.append(el("span", { className: "dl-retry-error", role: "alert", testid: "message-retry-error",
          textContent: t("dl_retryFailed", { error: err instanceof Error ? err.message : String(err) }) }));
      }
    };
    line.append(retry);
  }
  return line;
}

addStrings({
  en: {
    dl_pending: "Sending…", dl_sent: "Sent", dl_delivered: "Delivered", dl_read: "Read", dl_failed: "Not delivered",
    dl_retry: "Retry", dl_retryFailed: "Retry failed: {error}",
  },
  zh: {
    dl_pending: "发送中…", dl_sent: "已发送", dl_delivered: "已送达", dl_read: "已读", dl_failed: "发送失败",
    dl_retry: "重试", dl_retryFailed: "重试失败：{error}",
  },
});
