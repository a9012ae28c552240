// The UI toolkit of the staff pages: Preact with hooks, written through htm
// tagged templates (no build step). Vendored: display-client/vendor/README.md.
import { h, render } from "../vendor/preact-10.29.8/preact.module.js";
import { useState, useEffect, useRef, useMemo, useCallback } from "../vendor/preact-10.29.8/hooks.module.js";
import htm from "../vendor/htm-3.1.1/htm.module.js";

export const html = htm.bind(h);
export { h, render, useState, useEffect, useRef, useMemo, useCallback };

/** The colour a room's label is shown in: its status, and the label where
 * the room cannot call although open (医生暂离, 暂无医生; 停诊 when HIS has
 * its doctor off duty), so that no label that stops calls reads green. */
export function roomTone(room) {
  if (room.status === "closed" || room.status_label === "停诊") return "closed";
  if (room.status === "paused" || room.status_label === "医生暂离" || room.status_label === "暂无医生") return "paused";
  return "open";
}
