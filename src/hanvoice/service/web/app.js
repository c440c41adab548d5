// hanvoice web page: plain JavaScript, no build step. Streams MP3 into the player with Media
// Source Extensions where the browser can, so playback starts with the first sentence.
"use strict";

const I18N = {
  zh: {
    title: "hanvoice 中文语音合成", textLabel: "要合成的文字", hint: "Ctrl+Enter 合成",
    placeholder: "输入中文文本，例如：欢迎使用多地域语音合成服务。",
    emotion: "情感", voice: "音色", intensity: "情感强度", speed: "语速", format: "格式",
    synthesize: "合成语音", player: "播放", download: "下载音频", recent: "最近结果",
    footer: "本地合成，不上传第三方", lang: "English",
    working: "正在合成…", streaming: "正在播放（边合成边播放）…",
    done: (s, ms) => `完成：${s.toFixed(1)} 秒音频，用时 ${ms} 毫秒`,
    empty: "请输入要合成的文字。", tooLong: (n, max) => `文字太长：${n} 字，最多 ${max} 字。`,
    network: "无法连接服务器，请稍后重试。", busy: "服务器繁忙，请稍后重试。",
    emotions: { neutral: "中性", happy: "开心", sad: "悲伤", angry: "生气", fear: "害怕",
      surprise: "惊讶", disgust: "厌恶" },
    preview: "试听", female: "女声", male: "男声", slower: "较慢",
    pitch: "音高", volume: "音量", semitones: "半音", ssml: "SSML 模式", reading: "朗读进度",
    ssmlHint: "支持 <speak> <break> <prosody> <emotion> <say-as> <phoneme> <sub>；出错时光标会移到出错的位置。",
    ssmlPlaceholder: "<speak>欢迎使用<break time=\"300ms\"/>语音合成服务。</speak>",
    ssmlAt: (line, col) => `（第 ${line} 行，第 ${col} 列）`,
  },
  en: {
    title: "hanvoice Chinese text-to-speech", textLabel: "Text to speak", hint: "Ctrl+Enter to synthesize",
    placeholder: "Type Chinese text, e.g. 欢迎使用多地域语音合成服务。",
    emotion: "Emotion", voice: "Voice", intensity: "Intensity", speed: "Speed", format: "Format",
    synthesize: "Synthesize", player: "Player", download: "Download audio", recent: "Recent results",
    footer: "Synthesized locally, nothing sent to third parties", lang: "中文",
    working: "Synthesizing…", streaming: "Playing while synthesizing…",
    done: (s, ms) => `Done: ${s.toFixed(1)} s of audio in ${ms} ms`,
    empty: "Please enter some text.", tooLong: (n, max) => `Text too long: ${n} characters, at most ${max}.`,
    network: "Cannot reach the server; please try again.", busy: "The server is busy; please retry shortly.",
    emotions: { neutral: "neutral", happy: "happy", sad: "sad", angry: "angry", fear: "fear",
      surprise: "surprise", disgust: "disgust" },
    preview: "Preview", female: "female", male: "male", slower: "slower",
    pitch: "Pitch", volume: "Volume", semitones: "semitones", ssml: "SSML mode", reading: "Reading progress",
    ssmlHint: "Supports <speak> <break> <prosody> <emotion> <say-as> <phoneme> <sub>; on an error the cursor moves to where it is.",
    ssmlPlaceholder: "<speak>欢迎使用<break time=\"300ms\"/>语音合成服务。</speak>",
    ssmlAt: (line, col) => ` (line ${line}, column ${col})`,
  },
};

const $ = (id) => document.getElementById(id);
const state = { lang: localStorage.getItem("hanvoice.lang") || "zh", max: 5000, emotions: [],
  recent: [], busy: false, voices: [] };
const t = (key) => I18N[state.lang][key];

function applyLang() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t($("ssml").checked ? "ssmlPlaceholder" : el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  $("lang").textContent = t("lang");
  document.title = t("title");
  fillVoices();
  fillEmotions();
}

// Voice picker: name, gender and (for voices slower than the bundled one) a speed hint.
function fillVoices() {
  const sel = $("voice"), keep = sel.value;
  if (!state.voices.length) return;
  sel.replaceChildren(...state.voices.map((v) => {
    const hints = [t(v.gender) || v.gender, v.speed_class === "fast" ? "" : t("slower")];
    return new Option(`${v.name} · ${hints.filter(Boolean).join(" · ")}`, v.id);
  }));
  sel.value = keep || state.defaultVoice;
}

function voiceChanged() {
  const voice = state.voices.find((v) => v.id === $("voice").value);
  state.emotions = voice ? voice.emotions : ["neutral"];
  fillEmotions();
}

// A short sample in the chosen voice, through GET /tts (cacheable: the same bytes each time).
function preview() {
  const voice = state.voices.find((v) => v.id === $("voice").value);
  if (!voice) return;
  const text = `你好，我是${voice.name.split(" ")[0]}。`;
  const q = new URLSearchParams({ text, voice: voice.id, format: "mp3" });
  const audio = $("preview-audio");
  audio.src = `/tts?${q}`;
  audio.play().catch(() => {});
}

function fillEmotions() {
  const sel = $("emotion"), keep = sel.value || "neutral";
  sel.replaceChildren(...state.emotions.map((e) => new Option(t("emotions")[e] || e, e)));
  sel.value = state.emotions.includes(keep) ? keep : state.emotions[0] || "";
}

function updateCount() {
  const n = $("text").value.length;
  $("count").textContent = `${n} / ${state.max}`;
  $("count").classList.toggle("over", n > state.max);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
  if (message) $("status").textContent = "";
}

async function loadVoices() {
  try {
    const r = await fetch("/voices");
    const data = await r.json();
    state.max = data.max_text_chars;
    const voice = data.voices.find((v) => v.id === data.default) || data.voices[0];
    state.emotions = voice ? voice.emotions : ["neutral"];
    state.voices = data.voices;
    state.defaultVoice = data.default;
    fillVoices();
    $("voice").value = data.default;
  } catch (e) {
    state.emotions = ["neutral"];
    showError(t("network"));
  }
  fillEmotions();
  updateCount();
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error.message;
  } catch (e) { /* not JSON */ }
  return response.status === 503 ? t("busy") : `HTTP ${response.status}`;
}

// SSML mistakes come back as "invalid SSML at line 2, column 7: ...": put the cursor there.
function pointAtSsmlError(message) {
  const m = /line (\d+), column (\d+)/.exec(message || "");
  if (!m || !$("ssml").checked) return "";
  const line = Number(m[1]), col = Number(m[2]);
  const text = $("text").value;
  let offset = 0;
  for (let i = 1; i < line; i++) offset = text.indexOf("\n", offset) + 1;
  // the server counts characters (code points); the text box counts UTF-16 units
  const rest = Array.from(text.slice(offset)).slice(0, col - 1).join("");
  offset += rest.length;
  const box = $("text");
  box.focus();
  box.setSelectionRange(offset, Math.min(offset + 1, text.length));
  return t("ssmlAt")(line, col);
}

// Append chunks to a MediaSource SourceBuffer one at a time.
function mseSink(audio, mime) {
  const ms = new MediaSource();
  audio.src = URL.createObjectURL(ms);
  const opened = new Promise((ok) => ms.addEventListener("sourceopen", ok, { once: true }));
  let sb = null;
  const ready = opened.then(() => { sb = ms.addSourceBuffer(mime); });
  const append = async (chunk) => {
    await ready;
    if (sb.updating) await new Promise((ok) => sb.addEventListener("updateend", ok, { once: true }));
    sb.appendBuffer(chunk);
    await new Promise((ok) => sb.addEventListener("updateend", ok, { once: true }));
  };
  const end = async () => {
    await ready;
    if (sb.updating) await new Promise((ok) => sb.addEventListener("updateend", ok, { once: true }));
    if (ms.readyState === "open") ms.endOfStream();
  };
  return { append, end };
}

// One synthesis over the WebSocket: JSON in; "start", audio frames, then "end" with the
// per-character timestamps that drive the reading view (or "error").
function speak(body, onStart, onAudio) {
  return new Promise((resolve, reject) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/tts`);
    ws.binaryType = "arraybuffer";
    let settled = false;
    const finish = (fn, value) => { if (!settled) { settled = true; fn(value); } ws.close(); };
    ws.onopen = () => ws.send(JSON.stringify(body));
    ws.onerror = () => finish(reject, new Error("network"));
    ws.onclose = () => finish(reject, new Error("network"));
    ws.onmessage = async (ev) => {
      if (typeof ev.data !== "string") { await onAudio(new Uint8Array(ev.data)); return; }
      const msg = JSON.parse(ev.data);
      if (msg.type === "start") onStart(msg);
      else if (msg.type === "end") finish(resolve, msg);
      else if (msg.type === "error") finish(resolve, msg);
    };
  });
}

async function synthesize(ev) {
  ev.preventDefault();
  if (state.busy) return;
  const text = $("text").value;
  if (!text.trim()) { showError(t("empty")); $("text").focus(); return; }
  if (text.length > state.max) { showError(t("tooLong")(text.length, state.max)); return; }
  showError("");
  const format = $("format").value;
  const body = {
    text, format, emotion: $("emotion").value, voice: $("voice").value || null,
    intensity: Number($("intensity").value), speed: Number($("speed").value),
    pitch: Number($("pitch").value), volume: Number($("volume").value), ssml: $("ssml").checked,
  };
  state.busy = true;
  $("go").disabled = true;
  $("status").textContent = t("working");
  clearReading();
  const started = performance.now();
  const audio = $("audio");
  const canStream = format === "mp3" && window.MediaSource && MediaSource.isTypeSupported("audio/mpeg");
  let sink = null, mime = "audio/mpeg", playing = false;
  const parts = [];
  // frames are appended in order: each waits for the one before
  let appended = Promise.resolve();
  try {
    const end = await speak(body, (start) => {
      mime = start.media_type;
      if (canStream) sink = mseSink(audio, "audio/mpeg");
    }, (chunk) => {
      parts.push(chunk);
      if (!sink) return;
      appended = appended.then(() => sink.append(chunk)).then(() => {
        if (!playing) {
          playing = true;
          $("status").textContent = t("streaming");
          audio.play().catch(() => {});
        }
      });
    });
    if (end.type === "error") {
      showError(end.error.message + pointAtSsmlError(end.error.message));
      if (sink) audio.removeAttribute("src");
      return;
    }
    await appended;
    const blob = new Blob(parts, { type: mime });
    const url = URL.createObjectURL(blob);
    if (sink) await sink.end();
    else { audio.src = url; audio.play().catch(() => {}); }
    showReading(text, end.timestamps || [], body.ssml);
    const name = `hanvoice-${new Date().toISOString().replace(/[:.]/g, "-")}.${format}`;
    const link = $("download");
    link.href = url; link.download = name; link.hidden = false;
    const ms = Math.round(performance.now() - started);
    await durationOf(audio);
    $("status").textContent = t("done")(audio.duration || 0, ms);
    addRecent({ text, url, name, emotion: body.emotion, format, stamps: end.timestamps || [], ssml: body.ssml });
  } catch (e) {
    showError(t("network"));
  } finally {
    state.busy = false;
    $("go").disabled = false;
  }
}

// --- the reading view: the text, its sentence and character under the playhead -----------
const SENTENCE_END = new Set(["。", "！", "？", "!", "?", "；", ";", "…", "\n"]);

function clearReading() {
  state.stamps = [];
  state.spans = [];
  $("reading").replaceChildren();
  $("reading").hidden = true;
}

// Spans for each character of the input (SSML: its markup left out), grouped in sentences.
// Timestamps point into the input ({source: [start, end)}), whatever the voice.
function showReading(text, stamps, ssml) {
  const view = $("reading");
  const spans = new Array(text.length).fill(null);
  const sentences = [];
  let sentence = null;
  let inTag = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ssml && ch === "<") inTag = true;
    if (!inTag) {
      if (!sentence) {
        sentence = document.createElement("span");
        sentence.className = "sentence";
        sentences.push(sentence);
      }
      const span = document.createElement("span");
      span.className = "char";
      span.textContent = ch;
      spans[i] = span;
      sentence.append(span);
      if (SENTENCE_END.has(ch)) sentence = null;
    }
    if (ssml && ch === ">") inTag = false;
  }
  view.replaceChildren(...sentences);
  state.stamps = stamps.slice().sort((a, b) => a.start - b.start);
  state.spans = spans;
  view.hidden = !stamps.length;
  follow();
}

let lastMarked = [];
function follow() {
  const audio = $("audio");
  const stamps = state.stamps || [];
  for (const el of lastMarked) el.classList.remove("current");
  lastMarked = [];
  if (!stamps.length) return;
  const now = audio.currentTime;
  // the last character that has started (binary search), if it has not ended yet
  let lo = 0, hi = stamps.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (stamps[mid].start <= now) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (found < 0) return;
  const stamp = stamps[found];
  const [a, b] = stamp.source;
  const chars = state.spans.slice(a, Math.max(b, a + 1)).filter(Boolean);
  if (!chars.length) return;
  const sentence = chars[0].parentElement;
  sentence.classList.add("current");
  lastMarked.push(sentence);
  if (now < stamp.end) {
    for (const c of chars) c.classList.add("current");
    lastMarked.push(...chars);
  }
}

function followWhilePlaying() {
  follow();
  if (!$("audio").paused) requestAnimationFrame(followWhilePlaying);
}

function durationOf(audio) {
  if (Number.isFinite(audio.duration) && audio.duration > 0) return Promise.resolve();
  return new Promise((ok) => {
    const done = () => ok();
    audio.addEventListener("durationchange", done, { once: true });
    audio.addEventListener("loadedmetadata", done, { once: true });
    setTimeout(done, 3000);
  });
}

function addRecent(item) {
  state.recent.unshift(item);
  state.recent = state.recent.slice(0, 5);
  $("recent").replaceChildren(...state.recent.map((r) => {
    const li = document.createElement("li");
    const play = document.createElement("button");
    play.type = "button";
    play.textContent = "▶";
    play.setAttribute("aria-label", `${t("player")}: ${r.text.slice(0, 30)}`);
    play.addEventListener("click", () => {
      $("audio").src = r.url;
      showReading(r.text, r.stamps, r.ssml);
      $("audio").play().catch(() => {});
    });
    const a = document.createElement("a");
    a.href = r.url; a.download = r.name; a.textContent = t("download");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = ` ${r.text.slice(0, 40)}${r.text.length > 40 ? "…" : ""} · ${t("emotions")[r.emotion] || r.emotion} · ${r.format.toUpperCase()} `;
    li.append(play, meta, a);
    return li;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", synthesize);
  $("voice").addEventListener("change", voiceChanged);
  $("preview").addEventListener("click", preview);
  $("text").addEventListener("input", updateCount);
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("form").requestSubmit();
  });
  for (const id of ["intensity", "speed"]) {
    $(id).addEventListener("input", () => { $(`${id}-out`).textContent = Number($(id).value).toFixed(2).replace(/0$/, ""); });
  }
  for (const id of ["pitch", "volume"]) {
    $(id).addEventListener("input", () => {
      const v = Number($(id).value);
      $(`${id}-out`).textContent = v > 0 ? `+${v}` : `${v}`;
    });
  }
  $("ssml").addEventListener("change", () => {
    $("ssml-hint").hidden = !$("ssml").checked;
    applyLang();
  });
  const audio = $("audio");
  audio.addEventListener("play", followWhilePlaying);
  for (const name of ["timeupdate", "seeked", "pause", "ended"]) audio.addEventListener(name, follow);
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("hanvoice.lang", state.lang);
    applyLang();
    updateCount();
  });
  applyLang();
  loadVoices();
});
