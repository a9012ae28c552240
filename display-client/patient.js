// A patient's own page (/p/{token}, the ticket's QR code): one visit, kept
// live over /p/{token}/live (everything the page uses is under /p/). Every frame carries the whole view with the next
// seq; a gap asks for a resync, a lost connection keeps the last view under
// an offline mark and reconnects with jittered backoff (a restarted server
// is picked up without a reload). When the patient is called the room is
// shown in large type, the phone vibrates and, where the patient switched
// it on, a tone sounds. A link that opens nothing shows why and nothing else.

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const $ = (id) => document.getElementById(id);

let ws = null;
let seq = 0;
let attempt = 0;
let last = null;
let gone = false;
let audio = null;

function setOnline(online) {
  document.body.dataset.online = online ? "true" : "false";
  $("offline").hidden = online || last === null;
  $("conn").textContent = online ? "● 实时更新" : "● 离线";
}

function showGone(message) {
  gone = true;
  last = null;
  document.body.dataset.state = "gone";
  $("visit").hidden = true;
  $("offline").hidden = true;
  $("gone").hidden = false;
  $("gone-text").textContent = message || "此链接已失效。如需帮助请到分诊台。";
  $("conn").textContent = "";
  $("department").textContent = "";
}

function alertCalled(v) {
  try { navigator.vibrate?.([400, 200, 400, 200, 400]); } catch (_) { /* not allowed */ }
  if (!audio) return;
  try {
    const t = audio.currentTime;
    for (const [i, f] of [880, 660, 880].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.45);
      g.gain.exponentialRampToValueAtTime(0.4, t + i * 0.45 + 0.05);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.45 + 0.4);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.45);
      o.stop(t + i * 0.45 + 0.42);
    }
  } catch (_) { /* no sound here */ }
  document.title = `请到${v.called_room?.name || "诊室"}就诊`;
}

function render(v) {
  const before = last;
  last = v;
  document.body.dataset.state = "visit";
  document.body.dataset.status = v.status;
  $("gone").hidden = true;
  $("visit").hidden = false;
  $("department").textContent = v.department;
  $("ticket").textContent = v.ticket_no;
  $("name").textContent = v.masked_name;
  $("queue").textContent = v.queue;
  $("status").textContent = v.status_label;
  const called = v.status === "called" && v.called_room;
  $("called").hidden = !called;
  $("called").textContent = called ? `请到 ${v.called_room.name}` : "";
  const waiting = v.status === "waiting" || v.status === "held";
  $("ahead-row").hidden = !waiting;
  $("ahead").textContent = waiting ? String(v.ahead ?? "") : "";
  $("rooms-row").hidden = !waiting;
  $("rooms").textContent = v.rooms.length ? v.rooms.map((r) => r.name).join("、") : "暂无诊室开诊";
  const wait = waiting && v.wait;
  $("wait-row").hidden = !wait;
  $("wait").textContent = wait ? waitText(wait) : "";
  $("advice").textContent = v.advice;
  if (called && !(before && before.status === "called" && before.called_room?.code === v.called_room.code)) alertCalled(v);
  if (!called) document.title = "我的排队";
}

// P50–P90 as "约 15–30 分钟"; when the session may end first, that, in
// words, instead of an invented number.
function waitText(w) {
  if (w.beyond_session) {
    return w.p50_minutes != null ? `约 ${w.p50_minutes} 分钟以上，本时段内可能叫不到，请到分诊台咨询` : "本时段内可能叫不到，请到分诊台咨询";
  }
  if (w.p90_minutes === 0) return "即将叫到";
  return `约 ${w.p50_minutes}–${w.p90_minutes} 分钟`;
}

function connect() {
  if (gone) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/p/${encodeURIComponent(token)}/live`);
  ws = socket;
  let opened = false;
  socket.onopen = () => { opened = true; attempt = 0; seq = 0; setOnline(true); };
  socket.onmessage = (ev) => {
    let f;
    try { f = JSON.parse(ev.data); } catch (_) { return; }
    if (f.type === "visit") {
      if (seq !== 0 && f.seq !== seq + 1) socket.send(JSON.stringify({ type: "resync" }));
      seq = f.seq;
      render(f.visit);
    } else if (f.type === "gone") {
      showGone(f.message);
    }
  };
  socket.onclose = () => {
    if (ws !== socket || gone) return;
    setOnline(false);
    // Refused before opening: is the link still good, or gone?
    if (!opened) checkLink();
    attempt += 1;
    const delay = Math.min(10000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
    setTimeout(connect, delay);
  };
}

async function checkLink() {
  try {
    const r = await fetch(`/p/${encodeURIComponent(token)}/visit`, { cache: "no-store" });
    if (r.status === 404) {
      const b = await r.json().catch(() => null);
      showGone(b?.error?.message);
    } else if (r.ok && last === null) {
      render(await r.json());
    }
  } catch (_) { /* offline: the socket retries */ }
}

$("sound").addEventListener("click", () => {
  // Browsers sound only after a tap: this one opens the audio.
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    audio.resume?.();
    $("sound").setAttribute("aria-pressed", "true");
    $("sound").textContent = "叫号提醒声音已开启";
  } catch (_) {
    $("sound").textContent = "此浏览器不能发声，请留意本页和叫号屏";
  }
});

setOnline(false);
$("conn").textContent = "● 正在连接";
connect();
