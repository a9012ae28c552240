// The staff page's live channel (/ws/staff): a snapshot, then `queue` and
// `room` frames with the next `seq`. A gap asks for a resync; a lost socket
// reconnects by itself (backoff up to 15 s) and gets a new snapshot. The
// last state stays in memory (never on disk: it holds full names), marked
// offline with the time it was last current, so the page can still be
// read and printed while the server is down.

export class Live {
  constructor(query, onChange) {
    this.query = query;
    this.onChange = onChange;
    this.state = { queues: new Map(), rooms: new Map(), departments: [], staff: null,
      online: false, signedOut: false, asOf: null, serverOffset: 0, loaded: false };
    this.seq = 0;
    this.retry = 0;
    this.closed = false;
    this.connect();
  }

  emit() { this.onChange({ ...this.state }); }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/staff${this.query}`);
    this.ws = ws;
    ws.onmessage = (ev) => this.frame(JSON.parse(ev.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.state.online = false;
      this.emit();
      if (this.closed || this.state.signedOut) return;
      const wait = Math.min(15000, 500 * 2 ** this.retry) * (0.75 + Math.random() / 2);
      this.retry += 1;
      setTimeout(() => this.connect(), wait);
    };
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
    }, 10000);
  }

  frame(f) {
    const s = this.state;
    if (f.type === "pong") return;
    if (f.type === "signed_out") { s.signedOut = true; s.online = false; this.closed = true; this.emit(); return; }
    if (f.type === "restarting") { s.online = false; this.emit(); return; }
    if (f.type === "snapshot") {
      this.seq = f.seq;
      this.retry = 0;
      s.queues = new Map(f.queues.map((q) => [q.code, q]));
      s.rooms = new Map(f.rooms.map((r) => [r.code, r]));
      s.departments = f.departments;
      s.staff = f.staff;
      s.serverOffset = Date.parse(f.server_time) - Date.now();
    } else {
      if (f.seq !== this.seq + 1) { this.ws.send(JSON.stringify({ type: "resync" })); return; }
      this.seq = f.seq;
      if (f.type === "queue") s.queues.set(f.queue.code, f.queue);
      if (f.type === "room") s.rooms.set(f.room.code, f.room);
    }
    s.online = true;
    s.loaded = true;
    s.asOf = new Date();
    this.emit();
  }

  close() { this.closed = true; clearInterval(this.pinger); this.ws?.close(); }
}
