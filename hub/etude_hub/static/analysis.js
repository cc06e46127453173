// The engine's analysis of the last finished session: the piece, its figures and what to
// practise. Built with textContent only: every string comes from the network.

const percent = (x) => (x == null ? "–" : `${Math.round(x * 100)}%`);

function element(tag, text, className) {
  const el = document.createElement(tag);
  if (text != null) el.textContent = text;
  if (className) el.className = className;
  return el;
}

function figures(analysis) {
  if (analysis.piece) {
    return [
      ["score", analysis.overall_score == null ? "–" : analysis.overall_score.toFixed(0)],
      ["pitch", percent(analysis.pitch_accuracy)],
      ["rhythm", percent(analysis.rhythm_accuracy)],
      ["dynamics", percent(analysis.dynamics_range)],
      ["missed", String(analysis.missed)],
      ["wrong", String(analysis.wrong_pitch)],
      ["extra", String(analysis.extra)],
    ];
  }
  return [
    ["tempo", analysis.tempo_bpm == null ? "–" : `${analysis.tempo_bpm.toFixed(0)} bpm`],
    ["steadiness", percent(analysis.tempo_stability)],
    ["evenness", percent(analysis.evenness)],
    ["dynamics", percent(analysis.dynamics_range)],
  ];
}

export function showAnalysis(panel, analysis) {
  panel.replaceChildren();
  const title = analysis.piece
    ? `${analysis.piece}${analysis.first_bar ? `, bars ${analysis.first_bar}–${analysis.last_bar}` : ""}`
    : "Free play (no piece recognised)";
  panel.append(element("h2", "Last session"), element("p", title, "piece"));
  const list = element("dl", null, "figures");
  for (const [name, value] of figures(analysis)) list.append(element("dt", name), element("dd", value));
  panel.append(list);
  const items = analysis.feedback || [];
  if (items.length) {
    panel.append(element("h3", "Practise next"));
    const ol = element("ol", null, "feedback");
    for (const item of items) ol.append(element("li", item.message, `feedback-${item.kind}`));
    panel.append(ol);
  } else if (analysis.piece) {
    panel.append(element("p", "Nothing to flag: well played.", "muted"));
  }
  panel.hidden = false;
}

// Earlier analysed sessions of the same piece on this device, newest first: is it improving?
export async function showHistory(panel, deviceId, analysis) {
  if (!analysis.piece) return;
  let sessions = [];
  try {
    const reply = await (await fetch(`/api/v1/devices/${encodeURIComponent(deviceId)}/sessions`)).json();
    sessions = reply.data || [];
  } catch (err) { console.warn("session list failed", err); return; }
  const earlier = sessions.filter((s) => s.piece_name === analysis.piece && s.overall_score != null
                                     && s.id !== analysis.session_id).slice(0, 5);
  if (!earlier.length) return;
  panel.querySelector(".history")?.remove();
  const box = element("section", null, "history");
  box.append(element("h3", "Earlier takes"));
  const list = element("ol", null, "history-list");
  for (const s of earlier) {
    const when = s.started_at ? new Date(s.started_at).toLocaleString() : "";
    list.append(element("li", `${s.overall_score.toFixed(0)} · ${when}`));
  }
  box.append(list);
  panel.append(box);
}
