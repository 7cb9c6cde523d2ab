// @ts-check
// Bot (机器人): the tenant's bot settings, the knowledge base (articles, CSV import and export)
// and the bot's metrics per day with the questions it could not answer.
import { addStrings, t } from "../i18n.js";
import { api, agentToken, appUrl, el } from "../shared.js";
import { checkbox, confirmButton, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */
/**
 * @typedef {{id: string, question: string, similar: string[], answer: string, answers: Record<string, string>,
 *   category: string, enabled: boolean}} Article
 * @typedef {{mode: string, provider: string, rasa_url: string | null, rasa_timeout_seconds: number,
 *   handoff_keywords: string[], max_misses: number, channels: Record<string, string>, threshold: number,
 *   suggest_threshold: number, welcome: Record<string, string>, idle_close_seconds: number}} BotSettings
 */

const MODES = ["off", "bot_first", "human_first", "bot_only"];
const CHANNELS = ["webim", "wechat", "weibo", "email", "sms", "voice"];
const COUNTERS = ["taken", "answered", "misses", "resolved", "handoff_keyword", "handoff_misses", "handoff_bot", "handoff_error"];

/** @param {string} value @param {string[]} options @param {string} testid @param {(v: string) => string} label */
function select(value, options, testid, label) {
  const node = el("select", { testid }, ...options.map((o) => el("option", { value: o, textContent: label(o) })));
  node.value = value;
  return node;
}

function settingsPanel(/** @type {BotSettings} */ current) {
  const mode = select(current.mode, MODES, "bot-mode", (m) => t(`c_bt_mode_${m}`));
  const provider = select(current.provider, ["builtin", "rasa"], "bot-provider", (p) => t(`c_bt_provider_${p}`));
  const rasaUrl = el("input", { type: "url", value: current.rasa_url || "", placeholder: "http://rasa:5005", testid: "bot-rasa-url" });
  const keywords = el("input", { type: "text", value: current.handoff_keywords.join(", "), testid: "bot-keywords" });
  const misses = el("input", { type: "number", min: "1", max: "20", step: "1", value: String(current.max_misses), testid: "bot-max-misses" });
  const threshold = el("input", { type: "number", min: "0.01", max: "1", step: "0.01", value: String(current.threshold), testid: "bot-threshold" });
  const welcomeZh = el("input", { type: "text", maxLength: 1000, value: current.welcome.zh || "", testid: "bot-welcome-zh" });
  const welcomeEn = el("input", { type: "text", maxLength: 1000, value: current.welcome.en || "", testid: "bot-welcome-en" });
  /** @type {Map<string, HTMLSelectElement>} */
  const perChannel = new Map(CHANNELS.map((c) => [c, select(current.channels[c] || "", ["", ...MODES], `bot-channel-${c}`,
    (m) => (m ? t(`c_bt_mode_${m}`) : t("c_bt_sameMode")))]));
  const status = statusLine("bot-settings-status");
  const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "bot-settings-save" });
  const channelRows = el("div", { className: "rows" }, ...[...perChannel].map(([c, s]) => field(t(`c_bt_ch_${c}`), s)));
  const form = el("form", { className: "panel form-grid", testid: "bot-settings-form" },
    field(t("c_bt_mode"), mode, t("c_bt_modeHint")),
    field(t("c_bt_provider"), provider),
    field(t("c_bt_rasaUrl"), rasaUrl, t("c_bt_rasaHint")),
    field(t("c_bt_keywords"), keywords, t("c_bt_keywordsHint")),
    field(t("c_bt_misses"), misses),
    field(t("c_bt_threshold"), threshold, t("c_bt_thresholdHint")),
    field(t("c_bt_welcomeZh"), welcomeZh),
    field(t("c_bt_welcomeEn"), welcomeEn),
    el("div", { className: "field" }, el("span", { textContent: t("c_bt_channels") }), channelRows),
    status.node, el("div", { className: "actions" }, save));
  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    /** @type {Record<string, string>} */
    const channels = {};
    for (const [c, s] of perChannel) if (s.value) channels[c] = s.value;
    const welcome = { zh: welcomeZh.value.trim(), en: welcomeEn.value.trim() };
    const wanted = Number(threshold.value);
    try {
      await api("/api/v1/settings/bot", {
        method: "PUT",
        body: {
          ...current,
          mode: mode.value,
          provider: provider.value,
          rasa_url: rasaUrl.value.trim() || null,
          handoff_keywords: keywords.value.split(/[,，]/).map((k) => k.trim()).filter(Boolean),
          max_misses: Number(misses.value),
          threshold: wanted,
          suggest_threshold: Math.min(current.suggest_threshold, wanted),
          welcome,
          channels,
        },
      });
      status.ok(t("c_saved"));
    } catch (err) {
      status.error(err);
    }
  };
  return form;
}

async function knowledgePanel() {
  /** @type {Article[]} */
  let articles = (await api("/api/v1/kb/articles")).items;
  const list = el("div", { className: "rows", testid: "kb-list" });
  const status = statusLine("kb-status");
  const filter = el("input", { type: "search", placeholder: t("c_bt_filter"), testid: "kb-filter" });
  const question = el("input", { type: "text", maxLength: 500, required: true, testid: "kb-question" });
  const similar = el("textarea", { rows: 2, testid: "kb-similar" });
  const answer = el("textarea", { rows: 3, maxLength: 5000, required: true, testid: "kb-answer" });
  const answerEn = el("textarea", { rows: 2, maxLength: 5000, testid: "kb-answer-en" });
  const category = el("input", { type: "text", maxLength: 100, testid: "kb-category" });
  /** @type {string | null} */
  let editing = null;
  const submit = el("button", { type: "submit", className: "primary", textContent: t("c_add"), testid: "kb-save" });
  const cancel = el("button", { type: "button", textContent: t("c_cancel"), hidden: true });
  const form = el("form", { className: "panel form-grid", testid: "kb-form" },
    field(t("c_bt_question"), question), field(t("c_bt_similar"), similar, t("c_bt_similarHint")),
    field(t("c_bt_answer"), answer), field(t("c_bt_answerEn"), answerEn, t("c_bt_answerEnHint")),
    field(t("c_bt_category"), category), el("div", { className: "actions" }, cancel, submit));

  const reset = () => {
    editing = null;
    form.reset();
    submit.textContent = t("c_add");
    cancel.hidden = true;
  };
  cancel.onclick = reset;
  /** Fill the form with a question (an unanswered one) or an article to edit. */
  const fill = (/** @type {Partial<Article>} */ a) => {
    editing = a.id || null;
    question.value = a.question || "";
    similar.value = (a.similar || []).join("\n");
    answer.value = a.answer || "";
    answerEn.value = a.answers?.en || "";
    category.value = a.category || "";
    submit.textContent = editing ? t("c_save") : t("c_add");
    cancel.hidden = false;
    question.focus();
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    /** @type {Record<string, string>} */
    const answers = {};
    if (answerEn.value.trim()) answers.en = answerEn.value.trim();
    const body = {
      question: question.value.trim(),
      similar: similar.value.split("\n").map((s) => s.trim()).filter(Boolean),
      answer: answer.value.trim(),
      answers,
      category: category.value.trim(),
    };
    try {
      if (editing) await api(`/api/v1/kb/articles/${encodeURIComponent(editing)}`, { method: "PATCH", body });
      else await api("/api/v1/kb/articles", { method: "POST", body });
      articles = (await api("/api/v1/kb/articles")).items;
      reset();
      draw();
      status.ok(t("c_saved"));
    } catch (err) {
      status.error(err);
    }
  };

  const file = el("input", { type: "file", accept: ".csv,text/csv", hidden: true, testid: "kb-import-file" });
  const importButton = el("button", { type: "button", textContent: t("c_bt_import"), testid: "kb-import" });
  importButton.onclick = () => file.click();
  file.onchange = async () => {
    const chosen = file.files?.[0];
    file.value = "";
    if (!chosen) return;
    const data = new FormData();
    data.append("file", chosen);
    status.clear();
    try {
      const done = await api("/api/v1/kb/import", { method: "POST", body: data });
      articles = (await api("/api/v1/kb/articles")).items;
      draw();
      status.ok(t("c_bt_imported", { n: done.imported }));
    } catch (err) {
      status.error(err);
    }
  };
  const exportButton = el("button", { type: "button", textContent: t("c_bt_export"), testid: "kb-export" });
  exportButton.onclick = async () => {
    const res = await fetch(appUrl("/api/v1/kb/export"), { headers: { Authorization: `Bearer ${agentToken()}` } });
    if (!res.ok) { status.error(new Error(res.statusText)); return; }
    const link = el("a", { href: URL.createObjectURL(await res.blob()), download: "knowledge-base.csv" });
    link.click();
    URL.revokeObjectURL(link.href);
  };

  function draw() {
    const wanted = filter.value.trim().toLowerCase();
    const shown = articles.filter((a) => !wanted || `${a.question} ${a.similar.join(" ")} ${a.answer}`.toLowerCase().includes(wanted));
    list.replaceChildren(...shown.slice(0, 200).map((a) => {
      const enabled = checkbox(t("c_bt_enabled"), a.enabled, "kb-item-enabled");
      enabled.box.onchange = async () => {
        try {
          await api(`/api/v1/kb/articles/${encodeURIComponent(a.id)}`, { method: "PATCH", body: { enabled: enabled.box.checked } });
          a.enabled = enabled.box.checked;
        } catch (err) {
          enabled.box.checked = a.enabled;
          status.error(err);
        }
      };
      const edit = el("button", { type: "button", textContent: t("c_edit"), testid: "kb-item-edit" });
      edit.onclick = () => fill(a);
      const remove = confirmButton(t("c_delete"), "kb-item-delete", async () => {
        await api(`/api/v1/kb/articles/${encodeURIComponent(a.id)}`, { method: "DELETE" });
        articles = articles.filter((x) => x.id !== a.id);
        draw();
      });
      return el("div", { className: "row", testid: "kb-item", dataset: { id: a.id } },
        el("div", { className: "grow" },
          el("strong", { textContent: a.question }),
          el("div", { className: "muted small", textContent: a.answer })),
        enabled.row, edit, remove);
    }));
    if (!shown.length) list.append(el("p", { className: "muted", textContent: t("c_bt_none") }));
    else if (shown.length > 200) list.append(el("p", { className: "muted small", textContent: t("c_bt_more", { n: shown.length - 200 }) }));
  }
  filter.oninput = draw;
  draw();
  const node = el("div", {}, el("h2", { textContent: t("c_bt_kb") }),
    el("div", { className: "panel inline wrap" }, filter, importButton, file, exportButton,
      el("small", { className: "hint", textContent: t("c_bt_csvHint") })),
    form, status.node, list);
  return { node, fill };
}

async function metricsPanel(/** @type {(a: Partial<Article>) => void} */ fill) {
  const found = await api("/api/v1/bot/metrics?days=30");
  /** @type {{day: string, counts: Record<string, number>}[]} */
  const days = found.days;
  const head = el("tr", {}, el("th", { textContent: t("c_bt_day") }), ...COUNTERS.map((c) => el("th", { textContent: t(`c_bt_n_${c}`) })));
  const rows = days.slice().reverse().map((d) => el("tr", { testid: "bot-metrics-day" },
    el("td", { textContent: d.day }), ...COUNTERS.map((c) => el("td", { textContent: String(d.counts[c] || 0) }))));
  const table = el("table", { className: "table", testid: "bot-metrics" }, el("thead", {}, head), el("tbody", {}, ...rows));
  /** @type {{text: string, count: number, last_at: string}[]} */
  const unanswered = found.unanswered;
  const list = el("div", { className: "rows", testid: "bot-unanswered" }, ...unanswered.map((u) => {
    const add = el("button", { type: "button", textContent: t("c_bt_addArticle"), testid: "bot-unanswered-add" });
    add.onclick = () => fill({ question: u.text });
    return el("div", { className: "row", testid: "bot-unanswered-item" },
      el("span", { className: "grow", textContent: u.text }), el("span", { className: "muted", textContent: `× ${u.count}` }), add);
  }));
  if (!unanswered.length) list.append(el("p", { className: "muted", textContent: t("c_bt_noUnanswered") }));
  return el("div", {}, el("h2", { textContent: t("c_bt_metrics") }), days.length ? table : el("p", { className: "muted", textContent: t("c_bt_noMetrics") }),
    el("h2", { textContent: t("c_bt_unanswered") }), list);
}

async function render() {
  const settings = await api("/api/v1/settings/bot");
  const knowledge = await knowledgePanel();
  return el("div", {}, sectionHeader(t("c_nav_bot")), settingsPanel(settings), knowledge.node, await metricsPanel(knowledge.fill));
}

/** @type {ConsoleSection} */
export const section = { id: "bot", role: "admin", label: "c_nav_bot", render };

addStrings({
  en: {
    c_nav_bot: "Bot", c_bt_mode: "Mode", c_bt_modeHint: "Human first: the bot answers only when no agent can take the conversation now (nobody available, or outside working hours).",
    c_bt_mode_off: "Off", c_bt_mode_bot_first: "Bot first", c_bt_mode_human_first: "Human first", c_bt_mode_bot_only: "Bot only",
    c_bt_provider: "Bot", c_bt_provider_builtin: "Built-in knowledge base", c_bt_provider_rasa: "Rasa",
    c_bt_rasaUrl: "Rasa server URL", c_bt_rasaHint: "Its REST channel (/webhooks/rest/webhook) is called; if it fails or is slow, the customer goes to an agent.",
    c_bt_keywords: "Hand-off keywords", c_bt_keywordsHint: "Comma separated; a short message with one of them asks for an agent.",
    c_bt_misses: "Misses in a row before hand-off", c_bt_threshold: "Answer threshold (0–1)", c_bt_thresholdHint: "Below it the bot asks 'did you mean' or hands off.",
    c_bt_welcomeZh: "Welcome (Chinese)", c_bt_welcomeEn: "Welcome (English)", c_bt_channels: "Per channel", c_bt_sameMode: "Same as above",
    c_bt_ch_webim: "Web chat", c_bt_ch_wechat: "WeChat", c_bt_ch_weibo: "Weibo", c_bt_ch_email: "Email", c_bt_ch_sms: "SMS", c_bt_ch_voice: "Voice",
    c_bt_kb: "Knowledge base", c_bt_filter: "Filter articles", c_bt_question: "Question", c_bt_similar: "Similar questions",
    c_bt_similarHint: "One per line: other ways customers ask it, in any language.", c_bt_answer: "Answer",
    c_bt_answerEn: "Answer in English", c_bt_answerEnHint: "Optional: given to customers who ask in English.", c_bt_category: "Category",
    c_bt_enabled: "Enabled", c_bt_import: "Import CSV", c_bt_export: "Export CSV", c_bt_imported: "{n} articles imported",
    c_bt_csvHint: "Columns: id, category, question, similar (separated by |), answer, answer_en, answer_zh, enabled. A file with any bad row imports nothing.",
    c_bt_none: "No articles", c_bt_more: "{n} more: filter to find them",
    c_bt_metrics: "Last 30 days", c_bt_day: "Day", c_bt_n_taken: "Taken", c_bt_n_answered: "Answered", c_bt_n_misses: "Misses",
    c_bt_n_resolved: "Resolved", c_bt_n_handoff_keyword: "Hand-off: keyword", c_bt_n_handoff_misses: "Hand-off: misses",
    c_bt_n_handoff_bot: "Hand-off: bot", c_bt_n_handoff_error: "Hand-off: bot failed", c_bt_noMetrics: "No bot activity yet",
    c_bt_unanswered: "Unanswered questions", c_bt_noUnanswered: "None so far", c_bt_addArticle: "Add an article",
  },
  zh: {
    c_nav_bot: "机器人", c_bt_mode: "模式", c_bt_modeHint: "人工优先：只有当前没有坐席可接待（无人空闲或非工作时间）时才由机器人回答。",
    c_bt_mode_off: "关闭", c_bt_mode_bot_first: "机器人优先", c_bt_mode_human_first: "人工优先", c_bt_mode_bot_only: "仅机器人",
    c_bt_provider: "机器人", c_bt_provider_builtin: "内置知识库", c_bt_provider_rasa: "Rasa",
    c_bt_rasaUrl: "Rasa 服务地址", c_bt_rasaHint: "调用其 REST 渠道（/webhooks/rest/webhook）；失败或超时会转人工。",
    c_bt_keywords: "转人工关键词", c_bt_keywordsHint: "用逗号分隔；包含关键词的短消息将转人工。",
    c_bt_misses: "连续未识别几次后转人工", c_bt_threshold: "回答阈值（0–1）", c_bt_thresholdHint: "低于阈值时机器人会提示“您是不是想问”或转人工。",
    c_bt_welcomeZh: "欢迎语（中文）", c_bt_welcomeEn: "欢迎语（英文）", c_bt_channels: "按渠道设置", c_bt_sameMode: "与上面相同",
    c_bt_ch_webim: "网页聊天", c_bt_ch_wechat: "微信", c_bt_ch_weibo: "微博", c_bt_ch_email: "邮件", c_bt_ch_sms: "短信", c_bt_ch_voice: "语音",
    c_bt_kb: "知识库", c_bt_filter: "筛选问题", c_bt_question: "标准问题", c_bt_similar: "相似问题",
    c_bt_similarHint: "每行一个：客户的其他问法，中英文均可。", c_bt_answer: "答案",
    c_bt_answerEn: "英文答案", c_bt_answerEnHint: "选填：用英文提问的客户将收到该答案。", c_bt_category: "分类",
    c_bt_enabled: "启用", c_bt_import: "导入 CSV", c_bt_export: "导出 CSV", c_bt_imported: "已导入 {n} 条",
    c_bt_csvHint: "列：id, category, question, similar（用 | 分隔）, answer, answer_en, answer_zh, enabled。文件中任何一行有误则全部不导入。",
    c_bt_none: "暂无问题", c_bt_more: "还有 {n} 条，请筛选查找",
    c_bt_metrics: "最近 30 天", c_bt_day: "日期", c_bt_n_taken: "接待", c_bt_n_answered: "已回答", c_bt_n_misses: "未识别",
    c_bt_n_resolved: "机器人解决", c_bt_n_handoff_keyword: "转人工：关键词", c_bt_n_handoff_misses: "转人工：未识别",
    c_bt_n_handoff_bot: "转人工：机器人请求", c_bt_n_handoff_error: "转人工：机器人故障", c_bt_noMetrics: "暂无机器人数据",
    c_bt_unanswered: "未解决的问题", c_bt_noUnanswered: "暂无", c_bt_addArticle: "添加为知识",
  },
});
