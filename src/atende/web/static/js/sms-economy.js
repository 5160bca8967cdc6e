// "Economizar SMS": browser twin of atende/domain/sms_economy.py `economize` (same rule, same
// results; tests/domain/test_sms_economy_js_parity.py compares both character by character).
//
// 1. a GSM-7 character is kept; 2. a character of REPLACEMENTS becomes its replacement; 3. a Latin
// letter (U+00C0-U+024F, U+1E00-U+1EFF) loses its accents when what is left is GSM-7; 4. anything
// else is kept.
import { countSegments, isGsm7 } from "./sms-segments.js";

export const REPLACEMENTS = {
  // quotes and apostrophes
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
  "\u00a8": '"',
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
  "\u2039": "'", "\u203a": "'",
  // dashes, ellipsis, bullets
  "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
  "\u2026": "...", "\u2022": "-", "\u00b7": ".", "\u2023": "-", "\u25cf": "-",
  // spaces
  "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ",
  "\u3000": " ", "\t": " ",
  "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
  // Portuguese ordinals and the degree sign (1º, 2ª, 30°)
  "\u00ba": "o", "\u00aa": "a", "\u00b0": "o",
  // symbols
  "\u00b2": "2", "\u00b3": "3", "\u00b9": "1", "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4",
  "\u00a9": "(c)", "\u00ae": "(R)", "\u2122": "TM", "\u00d7": "x", "\u00f7": "/", "\u00a2": "c",
  "\u02c6": "^", "\u02dc": "~", "\u2248": "~",
  // letters NFKD leaves whole
  "\u00f0": "d", "\u00d0": "D", "\u0111": "d", "\u0110": "D", "\u0142": "l", "\u0141": "L",
  "\u00fe": "th", "\u00de": "Th", "\u0153": "oe", "\u0152": "OE", "\u0131": "i",
};

const LATIN_RANGES = [[0x00c0, 0x024f], [0x1e00, 0x1eff]];

function stripAccents(ch) {
  const code = ch.codePointAt(0);
  if (!LATIN_RANGES.some(([low, high]) => code >= low && code <= high)) return null;
  const bare = ch.normalize("NFKD").replace(/\p{Mn}/gu, "");
  return bare && isGsm7(bare) ? bare : null;
}

function spell(ch) {
  if (isGsm7(ch)) return ch;
  if (Object.prototype.hasOwnProperty.call(REPLACEMENTS, ch)) return REPLACEMENTS[ch];
  const bare = stripAccents(ch);
  return bare === null ? ch : bare;
}

/** `text` in GSM-7 where a GSM-7 spelling exists. */
export function economize(text) {
  let out = "";
  for (const ch of text == null ? "" : String(text)) out += spell(ch);
  return out;
}

/** The economized text when it takes fewer segments, else `text` untouched. */
export function cheaper(text) {
  const value = text == null ? "" : String(text);
  const out = economize(value);
  return countSegments(out).segments < countSegments(value).segments ? out : value;
}
