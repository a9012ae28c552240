// The UI toolkit of the staff pages: Preact with hooks, written through htm
// tagged templates (no build step). Vendored: display-client/vendor/README.md.
import { h, render } from "../vendor/preact-10.29.8/preact.module.js";
import { useState, useEffect, useRef, useMemo, useCallback } from "../vendor/preact-10.29.8/hooks.module.js";
import htm from "../vendor/htm-3.1.1/htm.module.js";

export const html = htm.bind(h);
export { h, render, useState, useEffect, useRef, useMemo, useCallback };
