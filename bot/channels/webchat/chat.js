// Web chat for the privacy assistant. Talks to the REST channel on the same origin.
// Everything the user or the bot wrote is put on the page as text nodes (textContent), never
// parsed as HTML: bot replies may quote policy text and users may type anything.
(() => {
  "use strict";

  // Relative to /webhooks/webchat/, so a different route prefix keeps working.
  const WEBHOOK = new URL("../rest/webhook", document.baseURI).href;
  const transcriptUrl = (sender) =>
    new URL(`conversations/${encodeURIComponent(sender)}/transcript`, document.baseURI).href;
  const policyUrl = (brand) => new URL(`policy/${brand}`, document.baseURI).href;
  const TIMEOUT_MS = 90000;
  const MAX_LENGTH = 2000; // the REST channel's limit, in characters (code points) as it counts
  // A conversation nobody wrote in for this long is not shown again: on a shared phone or a
  // dealer's tablet the next person starts afresh (the team still has it in the tracker store).
  const IDLE_MS = 30 * 60 * 1000;
  const BRANDS = ["mini", "bmw"];
  const LANGS = ["zh", "en"];
  const BRAND_NAMES = { mini: "MINI", bmw: "BMW" };
  const HOTLINES = { mini: "400-800-6699", bmw: "400-800-6666" };
  const STORE = "privacy-webchat.";

  const TEXT = {
    zh: {
      htmlLang: "zh-CN",
      title: "隐私助手",
      brandLegend: "品牌",
      langLegend: "语言",
      restart: "新对话",
      restartLabel: "开始新对话",
      confirmTitle: "开始新对话？",
      confirmText: "当前对话记录将从此页面清除，无法恢复。已提交的申请不受影响，可以随时用编号查询。",
      confirmYes: "清除并开始新对话",
      confirmNo: "继续当前对话",
      policy: "隐私政策全文",
      policyLabel: (brand) => `${BRAND_NAMES[brand]} 隐私政策全文`,
      log: "对话记录",
      inputLabel: "输入消息",
      placeholder: "输入您的问题…",
      send: "发送",
      typing: "助手正在输入…",
      you: "您：",
      bot: "助手：",
      note: "提示：",
      choices: "可选回复",
      welcome: (brand) =>
        `您好！我是 ${BRAND_NAMES[brand]} 互联服务的隐私助手。您可以问我隐私政策相关的问题，` +
        "也可以在这里办理退订营销信息、撤回同意、查询或删除个人信息等请求。",
      suggestions: ["你们会把我的数据传到境外吗？", "多久回复我的请求？", "我要退订营销短信"],
      langSwitched: "已切换为中文。",
      newConversation: "已开始新的对话。",
      notSent: "（未发送）",
      tooLong: `这条消息太长了，请精简到 ${MAX_LENGTH} 字以内再发送。`,
      count: (n) => `已输入 ${n} 字，最多 ${MAX_LENGTH} 字。`,
      badRequest: (field) =>
        `抱歉，这条消息没能发送（${field || "请求"}格式有误）。请刷新页面后再试。`,
      busy: "您发送得太快了，请稍等片刻再试。",
      unavailable: (brand) =>
        `抱歉，助手暂时无法回复。请稍后再试，或拨打 ${BRAND_NAMES[brand]} 客服热线 ${HOTLINES[brand]}。`,
      timeout: (brand) =>
        `抱歉，助手响应超时。请稍后再试，或拨打 ${BRAND_NAMES[brand]} 客服热线 ${HOTLINES[brand]}。`,
      retryHint: "您的消息已放回输入框，可以直接重新发送。",
      fields: { sender: "会话标识", message: "消息", "metadata.brand": "品牌", "metadata.lang": "语言" },
      join: "",
    },
    en: {
      htmlLang: "en",
      title: "Privacy assistant",
      brandLegend: "Brand",
      langLegend: "Language",
      restart: "New chat",
      restartLabel: "Start a new conversation",
      confirmTitle: "Start a new conversation?",
      confirmText: "The conversation so far will be cleared from this page and cannot be brought back. " +
        "Requests already filed are not affected; you can look them up by their reference.",
      confirmYes: "Clear and start anew",
      confirmNo: "Keep this conversation",
      policy: "Full policy",
      policyLabel: (brand) => `The full ${BRAND_NAMES[brand]} privacy policy`,
      log: "Conversation",
      inputLabel: "Your message",
      placeholder: "Type your question…",
      send: "Send",
      typing: "The assistant is typing…",
      you: "You: ",
      bot: "Assistant: ",
      note: "Note: ",
      choices: "Suggested replies",
      welcome: (brand) =>
        `Hello! I am the privacy assistant for ${BRAND_NAMES[brand]} connected services. ` +
        "Ask me about the privacy policy, or make a request here: unsubscribe from marketing, " +
        "withdraw consent, get a copy of or delete your personal information, and more.",
      suggestions: [
        "Do you transfer my data abroad?",
        "How long do you take to answer my request?",
        "I want to unsubscribe from marketing messages",
      ],
      langSwitched: "Switched to English.",
      newConversation: "A new conversation has started.",
      notSent: " (not sent)",
      tooLong: `This message is too long. Please keep it under ${MAX_LENGTH} characters.`,
      count: (n) => `${n} characters typed; at most ${MAX_LENGTH}.`,
      badRequest: (field) =>
        `Sorry, this message could not be sent (${field || "the request"} was not accepted). ` +
        "Please reload the page and try again.",
      busy: "You are sending messages very quickly. Please wait a moment and try again.",
      unavailable: (brand) =>
        "Sorry, the assistant cannot answer right now. Please try again later or call the " +
        `${BRAND_NAMES[brand]} hotline ${HOTLINES[brand]}.`,
      timeout: (brand) =>
        "Sorry, the assistant took too long to answer. Please try again later or call the " +
        `${BRAND_NAMES[brand]} hotline ${HOTLINES[brand]}.`,
      retryHint: "Your message is back in the input box, ready to send again.",
      fields: { sender: "the conversation id", message: "the message", "metadata.brand": "the brand", "metadata.lang": "the language" },
      join: " ",
    },
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    title: $("title"),
    brandLegend: $("brand-legend"),
    langLegend: $("lang-legend"),
    restart: $("restart"),
    policy: $("policy"),
    confirm: $("confirm-restart"),
    confirmTitle: $("confirm-title"),
    confirmText: $("confirm-text"),
    confirmYes: $("confirm-yes"),
    confirmNo: $("confirm-no"),
    conversation: $("conversation"),
    log: $("log"),
    messages: $("messages"),
    typing: $("typing"),
    status: $("status"),
    composer: $("composer"),
    input: $("input"),
    inputLabel: $("input-label"),
    send: $("send"),
    inputNote: $("input-note"),
  };

  // --- storage (localStorage can throw when storage is disabled) -------------------------------
  // Kept in the browser, not the tab: a reload or a reopened page continues the conversation,
  // one per brand, for as long as it is not idle.
  function load(key) {
    try {
      return window.localStorage.getItem(STORE + key);
    } catch (_) {
      return null;
    }
  }
  function save(key, value) {
    try {
      window.localStorage.setItem(STORE + key, value);
    } catch (_) {
      /* the value then lasts as long as the page */
    }
  }
  function forget(key) {
    try {
      window.localStorage.removeItem(STORE + key);
    } catch (_) {
      /* nothing was kept */
    }
  }

  // The brand's conversation on this device, unless it has been idle for IDLE_MS.
  function storedSender(brand) {
    const sender = load(`sender.${brand}`);
    const active = Number(load(`active.${brand}`));
    if (!sender || !Number.isFinite(active) || Date.now() - active > IDLE_MS) {
      forget(`sender.${brand}`);
      forget(`active.${brand}`);
      return null;
    }
    return sender;
  }
  function touch() {
    save(`sender.${state.brand}`, state.sender);
    save(`active.${state.brand}`, String(Date.now()));
  }

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; plain http on a LAN address has getRandomValues only.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function pick(value, allowed) {
    return allowed.includes(value) ? value : null;
  }

  // URL parameters (?brand=bmw&lang=en, as an app's web view would open it) win over this
  // browser's earlier choice, which wins over the browser's language.
  const params = new URLSearchParams(window.location.search);
  const browserLang = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  const brand = pick(params.get("brand"), BRANDS) || pick(load("brand"), BRANDS) || "mini";
  const state = {
    sender: storedSender(brand), // null until something is sent: nothing to restore
    brand,
    lang:
      pick(params.get("lang"), LANGS) ||
      pick(load("lang"), LANGS) ||
      (browserLang.toLowerCase().startsWith("zh") ? "zh" : "en"),
    busy: false,
    started: false, // whether anything was sent in this conversation
  };
  forget("sender"); // the one conversation for all brands that earlier versions kept

  // A choice made on the page outlives a reload even when the address names another one.
  function rememberChoice(key, value) {
    save(key, value);
    if (!params.has(key)) return;
    params.set(key, value);
    const url = new URL(window.location.href);
    url.search = params.toString();
    window.history.replaceState(null, "", url.href);
  }

  const t = () => TEXT[state.lang];

  // --- rendering ------------------------------------------------------------------------------
  // Links for web addresses, e-mail addresses, hotline numbers and the policy parts answers cite
  // ("MINI 隐私政策第五部分", "BMW policy, part V"), built as elements; ticket references are
  // kept on one line.
  // Groups 11-13: a markdown link to a clause of the policy page, "[text](policy/mini#part-5-3)".
  const LINKABLE = /(https?:\/\/[^\s<>"'，。；）)]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)|((?:400|800)-?\d{3}-?\d{4})|(PR-\d{4}-\d{6,})|((MINI|BMW) 隐私政策第([一二三四五六七八九])部分)|((MINI|BMW) policy, parts? (IX|IV|V?I{1,3}|V|[1-9])(?![A-Za-z0-9]))|\[([^\]\n]{1,300})\]\(policy\/(mini|bmw)#(part-(?:intro|[0-9]+(?:-[0-9]+)*))\)/g;
  const PART_NUMBERS = {
    一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9,
    I: 1, II: 2, III: 3, IV: 4, V: 5, VI: 6, VII: 7, VIII: 8, IX: 9,
  };

  function citedPart(match) {
    const brand = (match[6] || match[9]).toLowerCase();
    const part = PART_NUMBERS[match[7] || match[10]] || Number(match[10]);
    return `${policyUrl(brand)}#part-${part}`;
  }

  function appendText(parent, text) {
    let last = 0;
    for (const match of text.matchAll(LINKABLE)) {
      let value = match[0];
      let href;
      parent.append(document.createTextNode(text.slice(last, match.index)));
      if (match[4]) {
        const reference = document.createElement("span");
        reference.className = "reference";
        reference.textContent = value;
        parent.append(reference);
        last = match.index + value.length;
        continue;
      }
      if (match[11]) {
        href = `${policyUrl(match[12])}#${match[13]}`;
        value = match[11];
      } else if (match[1]) {
        value = value.replace(/[.,;:!?]+$/, "");
        href = value;
      } else if (match[5] || match[8]) {
        href = citedPart(match);
      } else if (match[2]) {
        href = `mailto:${value}`;
      } else {
        href = `tel:${value.replace(/-/g, "")}`;
      }
      const link = document.createElement("a");
      link.href = href;
      link.textContent = value;
      if (match[1]) {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      }
      parent.append(link);
      last = match.index + match[0].length;
    }
    parent.append(document.createTextNode(text.slice(last)));
  }

  function scrollToEnd() {
    els.conversation.scrollTop = els.conversation.scrollHeight;
  }

  // A new reply is read from its start: when it does not fit below, its first line is put at
  // the top of the view rather than its last line at the bottom.
  function scrollToReply(item) {
    const view = els.conversation.getBoundingClientRect();
    const top = item.getBoundingClientRect().top - view.top + els.conversation.scrollTop;
    const gap = 12;
    els.conversation.scrollTop = Math.min(top - gap, els.conversation.scrollHeight);
  }

  function timeLabel(date) {
    const today = new Date();
    const sameDay = date.toDateString() === today.toDateString();
    const format = sameDay
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" };
    return new Intl.DateTimeFormat(t().htmlLang, format).format(date);
  }

  function stamp(date) {
    const time = document.createElement("time");
    time.className = "stamp";
    time.dateTime = date.toISOString();
    time.textContent = timeLabel(date);
    return time;
  }

  // `options.time`: when it was said (a Date); messages said now are stamped now.
  function addMessage(kind, text, options = {}) {
    const item = document.createElement("li");
    item.className = `msg msg--${kind}`;
    if (options.extraClass) item.classList.add(options.extraClass);
    // Who is speaking, for screen readers (the bubbles' sides say it visually).
    const who = document.createElement("span");
    who.className = "sr-only";
    who.textContent = kind === "user" ? t().you : kind === "bot" ? t().bot : t().note;
    item.append(who);
    if (text) {
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      appendText(bubble, text);
      item.append(bubble);
    }
    if (options.buttons && options.buttons.length) {
      item.append(quickReplies(options.buttons));
    }
    if (kind !== "note" && text && !options.unstamped) {
      item.append(stamp(options.time || new Date()));
    }
    els.messages.append(item);
    if (!options.noScroll) scrollToEnd();
    return item;
  }

  function quickReplies(buttons) {
    const group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t().choices);
    for (const spec of buttons) {
      const title = String(spec.title ?? spec.payload ?? "");
      const payload = String(spec.payload ?? spec.title ?? "");
      if (!payload.trim()) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quick-reply";
      button.textContent = title;
      button.addEventListener("click", async () => {
        if (state.busy || button.disabled) return;
        button.classList.add("chosen");
        button.setAttribute("aria-pressed", "true");
        const sent = await send(payload, title, "button");
        if (!sent) {
          button.classList.remove("chosen");
          button.removeAttribute("aria-pressed");
        }
      });
      group.append(button);
    }
    return group;
  }

  // Buttons answer the question they came with: once the conversation moves on, an old
  // "确认提交" must not confirm a later request.
  function freezeQuickReplies() {
    const frozen = [];
    for (const button of els.messages.querySelectorAll("button.quick-reply:not(:disabled)")) {
      button.disabled = true;
      frozen.push(button);
    }
    return frozen;
  }

  function renderReplies(replies) {
    let firstButton = null;
    let firstItem = null;
    for (const reply of replies) {
      if (!reply || typeof reply !== "object") continue;
      const text = typeof reply.text === "string" ? reply.text : "";
      const buttons = Array.isArray(reply.buttons) ? reply.buttons : [];
      if (typeof reply.image === "string" && /^https?:\/\//.test(reply.image)) {
        firstItem = firstItem || addMessage("bot", reply.image, { noScroll: true });
      }
      if (!text && !buttons.length) continue;
      const item = addMessage("bot", text, { buttons, noScroll: true });
      firstItem = firstItem || item;
      firstButton = firstButton || item.querySelector("button.quick-reply");
    }
    if (firstItem) scrollToReply(firstItem);
    return firstButton;
  }

  function setBusy(busy) {
    state.busy = busy;
    els.typing.hidden = !busy;
    els.send.disabled = busy;
    els.log.setAttribute("aria-busy", busy ? "true" : "false");
    els.status.textContent = busy ? t().typing : "";
    if (busy) scrollToEnd();
  }

  // Characters as the REST channel counts them (code points, not UTF-16 units).
  const length = (text) => Array.from(text).length;

  // Said while typing or right after a paste, before anything is sent: nothing is ever cut.
  function checkLength() {
    const n = length(els.input.value.trim());
    const over = n > MAX_LENGTH;
    els.input.setAttribute("aria-invalid", over ? "true" : "false");
    els.inputNote.hidden = !over;
    els.inputNote.textContent = over ? `${t().tooLong} ${t().count(n)}` : "";
    els.composer.classList.toggle("composer--over", over);
    return !over;
  }

  function errorText(status, body) {
    const error = body && typeof body === "object" ? body.error : null;
    if (status === 400 && error && error.field === "message") return t().tooLong;
    if (status === 429) return t().busy;
    if (status >= 400 && status < 500) {
      // Field names are the API's; the user sees them in words.
      const field = error && typeof error.field === "string" ? error.field : "";
      const known = Object.prototype.hasOwnProperty.call(t().fields, field);
      return t().badRequest(known ? t().fields[field] : "");
    }
    return t().unavailable(state.brand);
  }

  // --- sending --------------------------------------------------------------------------------
  // `message` goes to the bot; `shown` is what the user sees (a button's title, not its payload).
  async function send(message, shown, source) {
    if (state.busy) return false;
    if (!message.trim()) return false;
    if (length(message) > MAX_LENGTH) {
      checkLength();
      els.input.focus();
      return false;
    }
    if (!state.sender) state.sender = randomId();
    touch();
    const frozen = freezeQuickReplies();
    const bubble = addMessage("user", shown);
    state.started = true;
    setBusy(true);

    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), TIMEOUT_MS);
    let failure = null;
    let firstButton = null;
    try {
      const response = await fetch(WEBHOOK, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          sender: state.sender,
          message,
          metadata: { brand: state.brand, lang: state.lang },
        }),
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
      });
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      if (response.ok) {
        firstButton = renderReplies(Array.isArray(body) ? body : []);
      } else {
        failure = errorText(response.status, body);
      }
    } catch (error) {
      failure =
        error && error.name === "AbortError" ? t().timeout(state.brand) : t().unavailable(state.brand);
    } finally {
      window.clearTimeout(timer);
      setBusy(false);
      touch();
    }

    if (failure) {
      // Nothing is lost: the message is marked as not sent, typed text goes back into the box,
      // and the buttons that were live are live again.
      bubble.classList.add("msg--failed");
      const mark = document.createElement("span");
      mark.className = "failed-mark";
      mark.textContent = t().notSent;
      bubble.append(mark);
      for (const button of frozen) button.disabled = false;
      let text = failure;
      if (source === "input" && !els.input.value) {
        els.input.value = message;
        autosize();
        text += t().join + t().retryHint;
      }
      addMessage("note", text, { extraClass: "msg--error" });
      return false;
    }
    if (source === "button" && firstButton) {
      firstButton.focus({ preventScroll: true });
    } else if (source === "button") {
      els.input.focus({ preventScroll: true });
    }
    return true;
  }

  // --- controls -------------------------------------------------------------------------------
  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = `${Math.min(els.input.scrollHeight, 160)}px`;
  }

  function welcome() {
    const buttons = t().suggestions.map((s) => ({ title: s, payload: s }));
    // The page's own words, not a message of the conversation: no time stamp.
    addMessage("bot", t().welcome(state.brand), {
      buttons, extraClass: "msg--welcome", unstamped: true,
    });
  }

  function applyLanguage() {
    const text = t();
    document.documentElement.lang = text.htmlLang;
    document.title = `${text.title} · ${BRAND_NAMES[state.brand]}`;
    els.title.textContent = text.title;
    els.brandLegend.textContent = text.brandLegend;
    els.langLegend.textContent = text.langLegend;
    els.restart.textContent = text.restart;
    els.restart.setAttribute("aria-label", text.restartLabel);
    els.policy.textContent = text.policy;
    els.policy.setAttribute("aria-label", text.policyLabel(state.brand));
    els.policy.lang = text.htmlLang;
    els.confirmTitle.textContent = text.confirmTitle;
    els.confirmText.textContent = text.confirmText;
    els.confirmYes.textContent = text.confirmYes;
    els.confirmNo.textContent = text.confirmNo;
    els.log.setAttribute("aria-label", text.log);
    els.inputLabel.textContent = text.inputLabel;
    els.input.placeholder = text.placeholder;
    els.send.textContent = text.send;
    checkLength();
  }

  function applyBrand() {
    document.body.dataset.brand = state.brand;
    els.policy.href = policyUrl(state.brand);
    els.policy.setAttribute("aria-label", t().policyLabel(state.brand));
    document.title = `${t().title} · ${BRAND_NAMES[state.brand]}`;
  }

  function syncRadios() {
    for (const input of document.querySelectorAll('input[name="brand"]')) {
      input.checked = input.value === state.brand;
    }
    for (const input of document.querySelectorAll('input[name="lang"]')) {
      input.checked = input.value === state.lang;
    }
  }

  function restartWelcome() {
    els.messages.replaceChildren();
    welcome();
  }

  for (const input of document.querySelectorAll('input[name="brand"]')) {
    input.addEventListener("change", () => {
      if (!input.checked || input.value === state.brand) return;
      state.brand = input.value;
      rememberChoice("brand", state.brand);
      applyBrand();
      // Each brand has its own conversation: the other brand's stays where it was.
      state.sender = storedSender(state.brand);
      state.started = false;
      restartWelcome();
      setBusy(true);
      restore().finally(() => setBusy(false));
    });
  }

  for (const input of document.querySelectorAll('input[name="lang"]')) {
    input.addEventListener("change", () => {
      if (!input.checked || input.value === state.lang) return;
      state.lang = input.value;
      rememberChoice("lang", state.lang);
      applyLanguage();
      if (state.started) addMessage("note", t().langSwitched);
      else restartWelcome();
    });
  }

  // Buttons of questions already answered are spent, restored ones too.
  function spendAnswered() {
    const items = Array.from(els.messages.children);
    const lastUser = items.map((item) => item.classList.contains("msg--user")).lastIndexOf(true);
    for (const item of items.slice(0, Math.max(lastUser, 0))) {
      for (const button of item.querySelectorAll("button.quick-reply")) button.disabled = true;
    }
  }

  // The conversation this browser had with the bot, from the tracker: after a reload the
  // customer sees what the bot is waiting for.
  async function restore() {
    let messages = [];
    if (!state.sender) return;
    const sender = state.sender;
    try {
      const response = await fetch(transcriptUrl(state.sender), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      const body = response.ok ? await response.json() : null;
      if (body && Array.isArray(body.messages)) messages = body.messages;
      if (sender !== state.sender) return; // the brand changed meanwhile
    } catch (_) {
      return; /* no transcript: the page starts with its welcome only */
    }
    for (const message of messages) {
      if (!message || typeof message !== "object") continue;
      const kind = message.from === "user" ? "user" : "bot";
      const time = typeof message.time === "number" ? new Date(message.time * 1000) : undefined;
      const buttons = kind === "bot" && Array.isArray(message.buttons) ? message.buttons : [];
      addMessage(kind, typeof message.text === "string" ? message.text : "", { time, buttons });
    }
    if (messages.length) {
      state.started = true;
      spendAnswered();
    }
  }

  // "New chat" forgets the conversation on this device; the next message starts another one.
  function startNewConversation() {
    state.sender = null;
    forget(`sender.${state.brand}`);
    forget(`active.${state.brand}`);
    state.started = false;
    els.messages.replaceChildren();
    addMessage("note", t().newConversation);
    welcome();
    els.input.focus();
  }

  // Wiping a conversation loses its transcript: asked first, unless nothing was said yet.
  els.restart.addEventListener("click", () => {
    if (state.busy) return;
    if (!state.started) {
      startNewConversation();
      return;
    }
    if (typeof els.confirm.showModal !== "function") {
      if (window.confirm(`${t().confirmTitle}\n${t().confirmText}`)) startNewConversation();
      return;
    }
    els.confirm.returnValue = "";
    els.confirm.showModal();
    els.confirmNo.focus();
  });
  // Wiped at once on the click (the dialog's close event comes later, after a next keystroke).
  els.confirmYes.addEventListener("click", () => {
    els.confirm.close("new");
    startNewConversation();
  });
  els.confirmNo.addEventListener("click", () => els.confirm.close("keep"));
  els.confirm.addEventListener("close", () => {
    if (els.confirm.returnValue !== "new") els.restart.focus();
  });

  els.composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = els.input.value;
    if (!message.trim() || state.busy) return;
    // Too long: the text stays in the box with the notice under it, to be shortened.
    if (!checkLength()) {
      els.input.focus();
      return;
    }
    els.input.value = "";
    autosize();
    await send(message.trim(), message.trim(), "input");
    els.input.focus({ preventScroll: true });
  });

  els.input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter breaks the line; Enter that confirms an IME candidate
    // (Chinese pinyin input) must do neither.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
      return;
    }
    event.preventDefault();
    els.composer.requestSubmit();
  });
  els.input.addEventListener("input", () => {
    autosize();
    checkLength();
  });

  syncRadios();
  applyLanguage();
  applyBrand();
  welcome();
  setBusy(true);
  restore().finally(() => {
    setBusy(false);
    scrollToEnd();
  });
})();
