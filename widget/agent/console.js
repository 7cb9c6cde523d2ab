// Admin and supervisor console (/agent/console): a left nav of sections, each in its own module.
// It reuses the inbox's sign-in; its live socket is a monitor socket, which never changes the
// signed-in agent's presence or routing.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { applyI18n, switchLang } from "/static/i18n.js";
import { TOKEN, api, el, t } from "/static/agent/console-common.js";
import { monitorSection } from "/static/agent/console-monitor.js";
import { agentsSection } from "/static/agent/console-agents.js";
import { routingSection } from "/static/agent/console-routing.js";
import { widgetSection } from "/static/agent/console-widget.js";
import { quickRepliesSection } from "/static/agent/console-replies.js";
import { tagsSection } from "/static/agent/console-tags.js";
import { blacklistSection } from "/static/agent/console-blacklist.js";

const $ = (id) => document.getElementById(id);

// Section id (URL hash, nav test id) → who may open it and how it renders.
const SECTIONS = [
  { id: "monitor", role: "supervisor", label: "c_nav_monitor", render: monitorSection },
  { id: "agents", role: "admin", label: "c_nav_agents", render: agentsSection },
  { id: "routing", role: "admin", label: "c_nav_routing", render: routingSection },
  { id: "widget", role: "admin", label: "c_nav_widget", render: widgetSection },
  { id: "quick-replies", role: "admin", label: "c_nav_quick_replies", render: quickRepliesSection },
  { id: "tags", role: "admin", label: "c_nav_tags", render: tagsSection },
  { id: "blacklist", role: "supervisor", label: "c_nav_blacklist", render: blacklistSection },
];

applyI18n();
document.title = t("c_console");
$("lang").textContent = t("lang");
$("lang").onclick = switchLang;

function allowed(me, role) {
  const roles = me.roles || [];
  if (role === "admin") return roles.includes("admin");
  return roles.includes("admin") || roles.includes("supervisor");
}

async function signedIn() {
  if (!localStorage.getItem(TOKEN)) return null;
  try {
    // Fresh roles from the server: the stored copy may predate a role change.
    const me = await api("/api/v1/auth/me");
    localStorage.setItem(`${TOKEN}:me`, JSON.stringify(me));
    return me;
  } catch {
    return null;
  }
}

function connectMonitor() {
  const socket = io("/agent", { auth: { token: localStorage.getItem(TOKEN), monitor: true }, transports: ["websocket"] });
  const live = $("live");
  const show = (on) => { live.dataset.state = on ? "on" : "off"; live.textContent = on ? t("c_live") : t("c_offline"); };
  show(false);
  socket.on("connect", () => show(true));
  socket.on("disconnect", () => show(false));
  socket.on("connect_error", (err) => {
    show(false);
    if (/token|unauth/i.test(err.message) || /token_/.test(JSON.stringify(err.data || ""))) location.assign("/agent/");
  });
  return socket;
}

async function main() {
  const me = await signedIn();
  if (!me) { location.replace("/agent/"); return; }
  const visible = SECTIONS.filter((s) => allowed(me, s.role));
  if (!visible.length) { $("denied").hidden = false; return; }
  $("console").hidden = false;
  $("me").textContent = `${me.name} · ${me.roles.map((r) => t(`c_role_${r}`)).join(", ")}`;
  const ctx = {
    me,
    socket: connectMonitor(),
    cleanup: [],
    /** A socket handler that lives as long as the current section. */
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
    const section = visible.find((s) => s.id === wanted) || visible[0];
    for (const link of nav.children) {
      if (link.dataset.section === section.id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    // Sections register socket handlers and timers; drop the previous section's.
    for (const undo of ctx.cleanup.splice(0)) undo();
    const root = $("section");
    root.dataset.section = section.id;
    root.replaceChildren(el("p", { className: "muted", textContent: t("c_loading") }));
    const mine = Symbol(section.id);
    ctx.current = mine;
    try {
      const node = await section.render(ctx);
      if (ctx.current === mine) root.replaceChildren(node);
    } catch (err) {
      if (ctx.current === mine) root.replaceChildren(el("p", { className: "status-line", dataset: { kind: "error" }, textContent: err.message }));
    }
  }
  addEventListener("hashchange", show);
  await show();
}

main();
