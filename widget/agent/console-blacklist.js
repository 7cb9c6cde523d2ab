// @ts-check
// Blacklist (黑名单): contacts blocked by agents, with until when and why; lifting a block.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { formatTime, sectionHeader, statusLine } from "./console-common.js";

/** @import { Contact } from "../types.js" */
/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

async function render(/** @type {ConsoleContext} */ ctx) {
  const list = el("div", { className: "rows", testid: "blacklist-list" });
  const status = statusLine("blacklist-error");
  const root = el("div", {}, sectionHeader(t("c_nav_blacklist")), status.node, list);

  async function load() {
    const { items } = await api("/api/v1/contacts?blocked=true&limit=1000");
    list.replaceChildren(...items.map(row));
    if (!items.length) list.append(el("p", { className: "muted", testid: "blacklist-empty", textContent: t("c_bl_none") }));
  }

  function row(/** @type {Contact} */ contact) {
    // A block without an end is stored as the year 9999.
    const forever = (contact.blocked_until || "").startsWith("9999");
    const until = forever ? t("c_bl_forever") : t("c_bl_until", { time: formatTime(contact.blocked_until) });
    const reason = contact.attributes?.blocked_reason || "";
    const who = contact.name || contact.email || contact.phone || `${t("visitor")} ${contact.id.slice(0, 6)}`;
    const where = [contact.attributes?.ip, contact.attributes?.region, ...(contact.identities || []).map((i) => i.channel)].filter(Boolean);
    const lift = el("button", { type: "button", textContent: t("c_bl_lift"), testid: "blacklist-lift", ariaLabel: `${t("c_bl_lift")} ${who}` });
    lift.onclick = async () => {
      lift.disabled = true;
      status.clear();
      try {
        await api(`/api/v1/contacts/${encodeURIComponent(contact.id)}/block`, { method: "DELETE" });
        await load();
      } catch (err) {
        status.error(err);
        lift.disabled = false;
      }
    };
    return el("div", { className: "row", testid: "blacklist-item", dataset: { contactId: contact.id } },
      el("div", { className: "grow" },
        el("div", { className: "name", textContent: who }),
        el("div", { className: "muted small", textContent: [...new Set(where)].join(" · ") })),
      el("div", { className: "small", testid: "blacklist-until", textContent: until }),
      el("div", { className: "small grow", testid: "blacklist-reason", textContent: reason ? t("c_bl_reason", { reason }) : t("c_bl_noReason") }),
      lift);
  }

  // Blocks and lifts made in the inbox arrive as contact.updated.
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pending;
  ctx.listen("contact.updated", () => { clearTimeout(pending); pending = setTimeout(() => load().catch(() => {}), 200); });
  ctx.cleanup.push(() => clearTimeout(pending));
  await load();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "blacklist", role: "supervisor", label: "c_nav_blacklist", render };

addStrings({
  en: { c_bl_none: "Nobody is blocked", c_bl_forever: "Blocked until lifted", c_bl_until: "Blocked until {time}",
    c_bl_reason: "Reason: {reason}", c_bl_noReason: "No reason given", c_bl_lift: "Lift block" },
  zh: { c_bl_none: "黑名单为空", c_bl_forever: "永久拉黑（直到解除）", c_bl_until: "拉黑至 {time}",
    c_bl_reason: "原因：{reason}", c_bl_noReason: "未填写原因", c_bl_lift: "解除拉黑" },
});
