// @ts-check
// Admin and supervisor console (agent/console): a left nav of sections, each one module that
// exports `section` (console-common.js says what it is); adding a section is adding its module
// to SECTIONS. It reuses the inbox's sign-in; its live socket is a monitor socket, which never
// changes the signed-in agent's presence or routing.
import { applyI18n, switchLang, t } from "../i18n.js";
import { $, el, api, agentToken, connect, isAuthRefusal, signOut, TOKEN } from "../shared.js";
import { section as monitor } from "./console-monitor.js";
import { section as agents } from "./console-agents.js";
import { section as routing } from "./console-routing.js";
import { section as widget } from "./console-widget.js";
import { section as channels } from "./console-channels.js";
import { section as quickReplies } from "./console-replies.js";
import { section as tags } from "./console-tags.js";
import { section as blacklist } from "./console-blacklist.js";
import { section as reports } from "./console-reports.js";
import { section as departments } from "./console-departments.js";
import { section as integrations } from "./console-integrations.js";
import { section as invitation } from "./console-invitation.js";
import { section as bot } from "./console-bot.js";

/** @import { Agent } from "../types.js" */
/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

/** In nav order. @type {ConsoleSection[]} */
const SECTIONS = [monitor, reports, agents, departments, routing, channels, widget, invitation, bot, quickReplies, tags, blacklist, integrations];

applyI18n();
document.title = t("c_console");
$("lang").textContent = t("lang");
$("lang").onclick = switchLang;

function allowed(/** @type {Agent} */ me, /** @type {ConsoleSection["role"]} */ role) {
  const roles = me.roles || [];
  if (role === "admin") return roles.includes("admin");
  return roles.includes("admin") || roles.includes("supervisor");
}

/** The signed-in agent with fresh roles (the stored copy may predate a role change). */
async function signedIn() {
  if (!agentToken()) return null;
  try {
    /** @type {Agent} */
    const me = await api("/api/v1/auth/me");
    localStorage.setItem(`${TOKEN}:me`, JSON.stringify(me));
    return me;
  } catch {
    return null; // a 401 has signed out and is on its way to the login
  }
}

function connectMonitor() {
  const socket = connect("/agent", { auth: { token: agentToken(), monitor: true } });
  const live = $("live");
  const show = (/** @type {boolean} */ on) => { live.dataset.state = on ? "on" : "off"; live.textContent = on ? t("c_live") : t("c_offline"); };
  show(false);
  socket.on("connect", () => show(true));
  socket.on("disconnect", () => show(false));
  socket.on("connect_error", (err) => {
    show(false);
    if (isAuthRefusal(err)) signOut(true);
  });
  return socket;
}

async function main() {
  if (!agentToken()) { signOut(); return; }
  const me = await signedIn();
  if (!me) return;
  const visible = SECTIONS.filter((s) => allowed(me, s.role));
  if (!visible.length) { $("denied").hidden = false; return; }
  $("console").hidden = false;
  $("me").textContent = `${me.name} · ${me.roles.map((r) => t(`c_role_${r}`)).join(", ")}`;
  /** @type {ConsoleContext} */
  const ctx = {
    me,
    socket: connectMonitor(),
    cleanup: [],
    listen(event, handler) { ctx.socket.on(event, handler); ctx.cleanup.push(() => ctx.socket.off(event, handler)); },
    every(ms, fn) { const id = setInterval(fn, ms); ctx.cleanup.push(() => clearInterval(id)); },
  };

  const nav = $("nav");
  nav.setAttribute("aria-label", t("c_console"));
  for (const s of visible) {
    nav.append(el("a", { href: `#${s.id}`, textContent: t(s.label), testid: `console-nav-${s.id}`, dataset: { section: s.id } }));
  }

  async function show() {
    const wanted = location.hash.slice(1);
    const shown = visible.find((s) => s.id === wanted) || visible[0];
    for (const link of /** @type {HTMLCollectionOf<HTMLElement>} */ (nav.children)) {
      if (link.dataset.section === shown.id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    // Sections register socket handlers and timers; drop the previous section's.
    for (const undo of ctx.cleanup.splice(0)) undo();
    const root = $("section");
    root.dataset.section = shown.id;
    root.replaceChildren(el("p", { className: "muted", textContent: t("c_loading") }));
    const mine = Symbol(shown.id);
    ctx.current = mine;
    try {
      const node = await shown.render(ctx);
      if (ctx.current === mine) root.replaceChildren(node);
    } catch (err) {
      if (ctx.current === mine) {
        root.replaceChildren(el("p", { className: "status-line", dataset: { kind: "error" }, textContent: err instanceof Error ? err.message : String(err) }));
      }
    }
  }
  addEventListener("hashchange", show);
  await show();
}

main();
