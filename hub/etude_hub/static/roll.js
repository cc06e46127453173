// Live piano roll: one WebSocket per device, notes drawn on a canvas as they arrive.
// The stream replays stored events after `since`, so a reconnect resumes where it stopped.
import { showAnalysis, showHistory } from "./analysis.js";

const LOW = 21, HIGH = 108;              // piano range, A0..C8
const SPAN_SECONDS = 12;                 // time visible across the canvas
const KEYS_WIDTH = 36;                   // keyboard strip on the left

const state = {
  deviceId: null, socket: null, lastSeq: 0, connected: false,
  sessionId: null, notes: [], open: new Map(), latest: 0, latestAt: 0, live: false,
  analysis: null, piece: null, bar: null, replayed: false, replayedFrom: 0,
};
// Read by tests and handy in the console.
window.etudeRoll = {
  get notesDrawn() { return state.notes.length; },
  get lastSeq() { return state.lastSeq; },
  get connected() { return state.connected; },
  get deviceId() { return state.deviceId; },
  get analysis() { return state.analysis; },
  get replayedFrom() { return state.replayedFrom; },
  get following() { return state.piece && { piece: state.piece, bar: state.bar }; },
  get extraNotes() { return state.notes.filter((n) => n.extra).map((n) => n.seq); },
};

const canvas = document.getElementById("roll");
const ctx = canvas.getContext("2d");
const statusEl = document.getElementById("status");
const countsEl = document.getElementById("counts");
const deviceSelect = document.getElementById("device");
const analysisPanel = document.getElementById("analysis");
const followingEl = document.getElementById("following");

function isBlack(pitch) { return [1, 3, 6, 8, 10].includes(pitch % 12); }

function resetSession(sessionId) {
  state.sessionId = sessionId; state.notes = []; state.open.clear(); state.latest = 0;
  state.piece = null; state.bar = null; followingEl.textContent = "";
}

function follow(position) {
  if (!position || !state.piece || position.label !== "match") return;
  state.bar = position.bar;
  followingEl.textContent = `${state.piece} · bar ${position.bar}`;
}

function handle(event) {
  state.lastSeq = Math.max(state.lastSeq, event.seq);
  if (event.kind === "session_started") { resetSession(event.session_id); state.live = true; return; }
  if (event.kind === "session_ended") { state.live = false; closeAll(event); return; }
  if (event.kind === "session_analysis") {
    state.analysis = event; showAnalysis(analysisPanel, event);
    if (state.replayed) showHistory(analysisPanel, state.deviceId, event);   // else once, after the replay
    return;
  }
  if (event.kind === "piece_recognised") {
    if (event.session_id !== state.sessionId) resetSession(event.session_id);
    state.piece = event.piece; followingEl.textContent = `${event.piece} · bar ${event.bar ?? "?"}`;
    return;
  }
  if (event.session_id && event.session_id !== state.sessionId) resetSession(event.session_id);
  if (event.kind === "positions_revised") {   // earlier notes placed anew by the score follower
    const bySeq = new Map(event.revisions.map((r) => [r.seq, r.position]));
    for (const n of state.notes) if (bySeq.has(n.seq)) n.extra = bySeq.get(n.seq).label === "extra";
    return;
  }
  if (typeof event.session_time === "number") {
    state.latest = Math.max(state.latest, event.session_time); state.latestAt = performance.now();
  }
  if (event.kind === "note_on") {
    const note = {
      seq: event.seq, pitch: event.pitch, velocity: event.velocity, start: event.session_time, end: null,
      heard: event.origin === "audio",   // estimated from the microphone, not told by MIDI
      extra: event.position?.label === "extra",   // no note of the score here
    };
    follow(event.position);
    state.notes.push(note);
    const stack = state.open.get(event.pitch) || [];
    stack.push(note); state.open.set(event.pitch, stack);
  } else if (event.kind === "note_off") {
    const stack = state.open.get(event.pitch);
    const note = stack && stack.shift();
    if (note) note.end = event.session_time;
  }
}

function closeAll() {
  for (const stack of state.open.values()) for (const n of stack) n.end = n.end ?? state.latest;
  state.open.clear();
}

// Where to replay a device's stream from: the start of its second-newest session, so the page
// gets the session being played and the last one's analysis, not the device's whole history.
async function replayStart(deviceId) {
  try {
    const reply = await (await fetch(`/api/v1/devices/${encodeURIComponent(deviceId)}/sessions`)).json();
    const firsts = (reply.data || []).slice(0, 2).map((s) => s.first_seq).filter((q) => q != null);
    return firsts.length ? Math.max(0, Math.min(...firsts) - 1) : 0;
  } catch (err) { console.warn("session list failed", err); return 0; }
}

async function connect(deviceId) {
  if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  state.deviceId = deviceId; resetSession(null);
  state.analysis = null; analysisPanel.hidden = true; state.replayed = false;
  state.lastSeq = state.replayedFrom = await replayStart(deviceId);
  if (state.deviceId === deviceId) open();
}

function open() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const url = `${proto}://${location.host}/api/v1/devices/${encodeURIComponent(state.deviceId)}/live?since=${state.lastSeq}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => { state.connected = true; setStatus(); };
  socket.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "event") handle(data.event);
    else if (data.type === "replay_done" && !state.replayed) {
      state.replayed = true;
      if (state.analysis) showHistory(analysisPanel, state.deviceId, state.analysis);
    }
    else if (data.type === "availability") { setStatus(data.state); labelDevice(data.device_id, data.state); }
  };
  socket.onclose = () => {
    state.connected = false; setStatus();
    if (state.socket === socket) setTimeout(open, 1000);   // resume from lastSeq
  };
}

function setStatus(availability) {
  statusEl.textContent = state.connected ? `live${availability ? " · device " + availability : ""}` : "reconnecting…";
  statusEl.className = "status " + (state.connected ? "online" : "offline");
}

function labelDevice(id, availability) {
  const option = [...deviceSelect.options].find((o) => o.value === id);
  if (option) option.textContent = option.textContent.replace(/\([a-z]+\)$/, `(${availability})`);
}

async function loadDevices() {
  try {
    const reply = await (await fetch("/api/v1/devices")).json();
    const devices = reply.data || [];
    const wanted = new URLSearchParams(location.search).get("device");
    const known = new Set([...deviceSelect.options].map((o) => o.value));
    for (const d of devices) {
      if (known.has(d.id)) continue;
      const option = new Option(`${d.name || d.id} (${d.availability})`, d.id);
      deviceSelect.add(option);
    }
    [...deviceSelect.options].filter((o) => o.value === "").forEach((o) => o.remove());
    if (!state.deviceId && devices.length) {
      const pick = devices.find((d) => d.id === wanted) || devices.find((d) => d.availability === "online") || devices[0];
      deviceSelect.value = pick.id; connect(pick.id);
    }
  } catch (err) { console.warn("device list failed", err); }
  if (!state.deviceId) setTimeout(loadDevices, 1000);
}

deviceSelect.addEventListener("change", () => connect(deviceSelect.value));

function draw() {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#14161a"; ctx.fillRect(0, 0, w, h);
  const rowH = h / (HIGH - LOW + 1);
  const y = (pitch) => h - (pitch - LOW + 1) * rowH;
  for (let p = LOW; p <= HIGH; p++) {            // lanes and keyboard
    ctx.fillStyle = isBlack(p) ? "#1a1c21" : "#1d2026"; ctx.fillRect(KEYS_WIDTH, y(p), w, rowH);
    ctx.fillStyle = isBlack(p) ? "#222" : "#ddd"; ctx.fillRect(0, y(p), KEYS_WIDTH - 2, rowH - 0.5);
  }
  const now = state.live ? state.latest + Math.min(1, (performance.now() - state.latestAt) / 1000) : state.latest;
  const t0 = Math.max(0, now - SPAN_SECONDS);
  const pxPerSec = (w - KEYS_WIDTH) / SPAN_SECONDS;
  const x = (t) => KEYS_WIDTH + (t - t0) * pxPerSec;
  for (const n of state.notes) {
    const end = n.end ?? now;
    if (end < t0) continue;
    const light = 35 + Math.round((n.velocity / 127) * 40);
    ctx.fillStyle = n.extra ? `hsl(0 75% ${light}%)` : n.heard ? `hsl(200 80% ${light}%)` : `hsl(40 90% ${light}%)`;
    ctx.fillRect(Math.max(KEYS_WIDTH, x(n.start)), y(n.pitch) + 0.5, Math.max(2, (end - Math.max(n.start, t0)) * pxPerSec), Math.max(1.5, rowH - 1));
  }
  countsEl.textContent = `${state.notes.length} notes · seq ${state.lastSeq}`;
  requestAnimationFrame(draw);
}

loadDevices();
requestAnimationFrame(draw);
