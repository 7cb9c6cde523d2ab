// @ts-check
// Supervisor monitor (班长监控): agents' presence and load, the waiting queues per skill, counters.
// Live: every tenant event that can change what is shown triggers one coalesced refresh.
import { addStrings, t } from "../i18n.js";
import { api, appUrl, el } from "../shared.js";
import { formatDuration, sectionHeader } from "./console-common.js";
import { visitorsPanel } from "./console-visitors.js";

/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

/**
 * @typedef {{id: string, channel: string, last_message_preview?: string | null}} HeldConversation
 * @typedef {{
 *   agent_id: string, name?: string, email?: string, presence: string, held: number, max_concurrent: number,
 *   skills: string[], conversations?: HeldConversation[],
 * }} AgentLoad
 * @typedef {{
 *   conversation_id: string, contact_id: string, contact_name?: string | null, channel: string, position: number,
 *   waited_seconds: number, last_message_preview?: string | null,
 * }} QueueItem
 * @typedef {{skill: string | null, count: number, items: QueueItem[]}} Queue
 * @typedef {{
 *   conversation_id: string, channel: string, contact_name?: string, agent_id?: string | null, agent_name?: string,
 *   score: number, comment: string, closed_at?: string | null,
 * }} RatingItem
 */

const RATINGS_SHOWN = 20;

const PRESENCE = ["ready", "not_ready", "away", "offline"];

function conversationLink(/** @type {string} */ id, /** @type {string} */ text) {
  return el("a", { href: appUrl(`/agent/#conversation=${encodeURIComponent(id)}`), textContent: text, testid: "monitor-conversation-link", dataset: { conversationId: id } });
}

function counter(/** @type {string} */ label, /** @type {string} */ testid) {
  const value = el("strong", { testid, textContent: "–" });
  return { value, node: el("div", { className: "counter" }, value, el("span", { textContent: label })) };
}

async function render(/** @type {ConsoleContext} */ ctx) {
  const queued = counter(t("c_mon_queued"), "monitor-queued");
  const online = counter(t("c_mon_online"), "monitor-online");
  const serving = counter(t("c_mon_serving"), "monitor-serving");
  const agentsBox = el("div", { className: "cards", testid: "monitor-agents" });
  const queuesBox = el("div", { className: "queues", testid: "monitor-queues" });
  const ratingsBox = el("ol", { className: "ratings", testid: "monitor-ratings" });
  const updated = el("small", { className: "muted" });
  const visitors = visitorsPanel();
  const root = el("div", { className: "monitor" },
    sectionHeader(t("c_nav_monitor"), updated),
    el("div", { className: "counters" }, queued.node, online.node, serving.node),
    el("h2", { textContent: t("c_mon_agents") }), agentsBox,
    el("h2", { textContent: t("c_mon_queues") }), queuesBox,
    visitors.node,
    el("h2", { textContent: t("c_mon_ratings") }), ratingsBox);

  // Waiting times tick locally from the server's figure, so the console's clock does not matter.
  let fetchedAt = performance.now();
  /** @type {{node: HTMLElement, base: number}[]} */
  const waits = [];

  function renderAgents(/** @type {AgentLoad[]} */ agents) {
    agentsBox.replaceChildren(...agents.map((a) => {
      const presence = PRESENCE.includes(a.presence) ? a.presence : "offline";
      const ratio = a.max_concurrent ? Math.min(1, a.held / a.max_concurrent) : 1;
      const bar = el("div", { className: "load-bar", role: "img", ariaLabel: `${a.held} / ${a.max_concurrent}` },
        el("span", { style: `width:${Math.round(ratio * 100)}%` }));
      const card = el("div", { className: "card agent-card", testid: "monitor-agent", dataset: { agentId: a.agent_id, presence } },
        el("div", { className: "card-head" },
          el("span", { className: "name", textContent: a.name || a.email || a.agent_id }),
          el("span", { className: `presence presence-${presence}`, testid: "monitor-agent-presence", textContent: t(`c_presence_${presence}`) })),
        el("div", { className: "muted small", textContent: a.email }),
        el("div", { className: "load" },
          el("span", { testid: "monitor-agent-load", textContent: `${a.held} / ${a.max_concurrent}` }), bar),
        el("div", { className: "chips" }, ...(a.skills.length ? a.skills : [t("c_mon_anySkill")])
          .map((s) => el("span", { className: "chip", textContent: s }))));
      if (a.conversations?.length) {
        card.append(el("ul", { className: "conv-list" }, ...a.conversations.map((c) =>
          el("li", {}, conversationLink(c.id, c.last_message_preview || `${c.channel} · ${c.id.slice(0, 6)}`)))));
      }
      return card;
    }));
    if (!agents.length) agentsBox.append(el("p", { className: "muted", textContent: t("c_mon_noAgents") }));
  }

  function renderQueues(/** @type {Queue[]} */ queues) {
    waits.length = 0;
    queuesBox.replaceChildren(...queues.map((q) => {
      const name = q.skill === null ? t("c_mon_noSkill") : q.skill;
      const list = el("ol", { className: "queue-list" }, ...q.items.map((item) => {
        const wait = el("span", { className: "wait", testid: "monitor-queue-wait" });
        waits.push({ node: wait, base: item.waited_seconds });
        return el("li", { testid: "monitor-queue-item", dataset: { conversationId: item.conversation_id } },
          el("span", { className: "pos", textContent: `#${item.position}` }),
          el("span", { className: "who" },
            conversationLink(item.conversation_id, item.contact_name || `${t("visitor")} ${item.contact_id.slice(0, 6)}`),
            el("span", { className: "muted small", textContent: ` ${item.channel}` }),
            item.last_message_preview ? el("span", { className: "preview", textContent: item.last_message_preview }) : null),
          wait);
      }));
      const more = q.count > q.items.length ? el("p", { className: "muted small", textContent: t("c_mon_more", { n: q.count - q.items.length }) }) : null;
      return el("section", { className: "card queue", testid: "monitor-queue", dataset: { skill: q.skill ?? "" } },
        el("div", { className: "card-head" }, el("span", { className: "name", textContent: name }),
          el("span", { className: "count", testid: "monitor-queue-count", textContent: t("c_mon_waiting", { n: q.count }) })),
        q.items.length ? list : el("p", { className: "muted small", textContent: t("c_mon_empty") }), more);
    }));
    tick();
  }

  function renderRatings(/** @type {RatingItem[]} */ ratings) {
    ratingsBox.replaceChildren(...ratings.map((r) => el("li", { testid: "monitor-rating", dataset: { conversationId: r.conversation_id, score: String(r.score) } },
      el("span", { className: "stars", ariaLabel: `${r.score} / 5`, textContent: "★".repeat(r.score) + "☆".repeat(5 - r.score) }),
      el("span", { className: "who", testid: "monitor-rating-agent", textContent: r.agent_name || t("c_mon_noAgent") }),
      conversationLink(r.conversation_id, r.contact_name || `${r.channel} · ${r.conversation_id.slice(0, 6)}`),
      r.comment ? el("q", { className: "comment", testid: "monitor-rating-comment", textContent: r.comment }) : null,
      el("small", { className: "muted", textContent: r.closed_at ? new Date(r.closed_at).toLocaleString() : "" }))));
    if (!ratings.length) ratingsBox.append(el("li", { className: "muted", textContent: t("c_mon_noRatings") }));
  }

  function tick() {
    const elapsed = (performance.now() - fetchedAt) / 1000;
    for (const w of waits) w.node.textContent = formatDuration(w.base + elapsed);
  }

  async function refresh() {
    const [state, queues, ratings] = await Promise.all([api("/api/v1/monitor?conversations=true"), api("/api/v1/monitor/queues"),
      api(`/api/v1/ratings?limit=${RATINGS_SHOWN}`)]);
    fetchedAt = performance.now();
    /** @type {AgentLoad[]} */
    const agents = state.agents || [];
    queued.value.textContent = String(queues.queued);
    online.value.textContent = String(state.agents_online);
    serving.value.textContent = String(state.serving_total ?? agents.reduce((n, a) => n + a.held, 0));
    renderAgents(agents);
    renderQueues(queues.queues);
    renderRatings(ratings.items);
    await visitors.refresh();
    updated.textContent = t("c_mon_updated", { time: new Date().toLocaleTimeString() });
  }

  // Bursts of events (a visitor wave) become one refresh; a refresh never overlaps another.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let pending = null;
  let running = false;
  function soon() {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      if (running) { soon(); return; }
      running = true;
      try { await refresh(); } catch { /* shown stale; the next event or poll retries */ } finally { running = false; }
    }, 400);
  }
  for (const event of ["agent.presence", "queue.updated", "conversation.updated", "visitors.online", "connect"]) ctx.listen(event, soon);
  // Profile edits (maximum, skills) emit nothing: a slow poll keeps those honest.
  ctx.every(15000, soon);
  ctx.every(1000, tick);
  ctx.cleanup.push(() => { if (pending) clearTimeout(pending); });
  await refresh();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "monitor", role: "supervisor", label: "c_nav_monitor", render };

addStrings({
  en: {
    c_mon_queued: "Queued", c_mon_online: "Agents online", c_mon_serving: "Serving", c_mon_agents: "Agents",
    c_mon_queues: "Waiting queues", c_mon_noSkill: "General (no skill)", c_mon_waiting: "{n} waiting",
    c_mon_empty: "Nobody is waiting", c_mon_more: "and {n} more", c_mon_anySkill: "any skill",
    c_mon_noAgents: "No agents yet", c_mon_updated: "Updated {time}",
    c_mon_ratings: "Recent ratings", c_mon_noRatings: "No ratings yet", c_mon_noAgent: "no agent",
    c_presence_ready: "Ready", c_presence_not_ready: "Not ready", c_presence_away: "Away", c_presence_offline: "Offline",
  },
  zh: {
    c_mon_queued: "排队中", c_mon_online: "在线坐席", c_mon_serving: "服务中", c_mon_agents: "坐席",
    c_mon_queues: "排队队列", c_mon_noSkill: "通用（无技能组）", c_mon_waiting: "{n} 人等待",
    c_mon_empty: "暂无排队", c_mon_more: "还有 {n} 位", c_mon_anySkill: "全部技能",
    c_mon_noAgents: "暂无坐席", c_mon_updated: "更新于 {time}",
    c_mon_ratings: "最近评价", c_mon_noRatings: "暂无评价", c_mon_noAgent: "无坐席",
    c_presence_ready: "就绪", c_presence_not_ready: "未就绪", c_presence_away: "离开", c_presence_offline: "离线",
  },
});
