// Voice announcements, queued so they never overlap. A local Chinese speech
// voice is used when the kiosk has one; otherwise the server's audio
// (/api/v1/voice, espeak-ng or a chime) is played, so calls work offline on
// the hospital LAN. Tests may set window.__triageSpeech = async (text) => {}.

function zhVoice() {
  if (!("speechSynthesis" in window)) return null;
  const voices = window.speechSynthesis.getVoices();
  return voices.find((v) => /^(zh|cmn)/i.test(v.lang)) || null;
}

function speakLocal(voice, text) {
  return new Promise((resolve) => {
    const u = new SpeechSynthesisUtterance(text);
    u.voice = voice;
    u.lang = voice.lang;
    u.rate = 0.9;
    const done = () => resolve();
    u.onend = done;
    u.onerror = done;
    setTimeout(done, 20000);
    window.speechSynthesis.speak(u);
  });
}

export class Announcer {
  constructor() {
    this.queue = [];
    this.busy = false;
    this.spoken = [];          // what was announced, in order (diagnostics and tests)
    this.onBlocked = () => {};
    this.audio = new Audio();
  }

  unlock() {
    this.audio.muted = true;
    this.audio.play().catch(() => {}).finally(() => { this.audio.muted = false; });
  }

  enqueue(text, repeat) {
    for (let i = 0; i < Math.max(1, repeat); i++) this.queue.push(text);
    if (!this.busy) this.drain();
  }

  /** Stops speaking: what is queued is dropped, what is said is cut off
   * (a screen that may no longer show patients says none of them). */
  silence() {
    this.queue.length = 0;
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    this.audio.pause();
  }

  async drain() {
    this.busy = true;
    while (this.queue.length) {
      const text = this.queue.shift();
      const started = performance.now();
      await this.say(text);
      this.spoken.push({ text, started, ended: performance.now() });
    }
    this.busy = false;
  }

  async say(text) {
    if (typeof window.__triageSpeech === "function") return window.__triageSpeech(text);
    const voice = zhVoice();
    if (voice) return speakLocal(voice, text);
    return this.playServer(text);
  }

  playServer(text) {
    return new Promise((resolve) => {
      const a = this.audio;
      const done = () => { a.onended = null; a.onerror = null; resolve(); };
      a.onended = done;
      a.onerror = done;
      a.src = `/api/v1/voice?text=${encodeURIComponent(text)}`;
      a.play().catch((e) => {
        if (e && e.name === "NotAllowedError") this.onBlocked();
        done();
      });
      setTimeout(done, 20000);
    });
  }
}
