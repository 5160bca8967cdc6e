// SMS length counter for the chat composer: encoding, parts (segments) and units.
//
// Browser twin of atende/domain/sms.py `count_segments` (same rule, same results; the test
// tests/domain/test_sms_js_parity.py compares both). Plain ES module, no dependencies.
//
// - GSM-7 when every character is in the GSM 03.38 default alphabet or its extension table;
//   units are septets (extension characters ^ { } \ [ ~ ] | € and form feed cost 2).
//   One SMS holds 160, a part of a multi-part SMS holds 153.
// - UCS-2 otherwise; units are UTF-16 code units (an emoji outside the BMP is 2).
//   One SMS holds 70, a part holds 67.
// - Parts are filled character by character; an extension character's 2 septets and a surrogate
//   pair are never split across parts (a part may hold 152 / 66).
// - The empty text is 0 units and 0 segments (perSegment 160, remaining 160).

// GSM 03.38 default alphabet in code order 0x00-0x7F (0x1B = ESC is not a character).
const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅå" + // 0x00-0x0F
  "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" + // 0x10-0x1F (0x1B = ESC, left out)
  " !\"#¤%&'()*+,-./" + // 0x20-0x2F
  "0123456789:;<=>?" + // 0x30-0x3F
  "¡ABCDEFGHIJKLMNO" + // 0x40-0x4F
  "PQRSTUVWXYZÄÖÑÜ§" + // 0x50-0x5F
  "¿abcdefghijklmno" + // 0x60-0x6F
  "pqrstuvwxyzäöñüà" // 0x70-0x7F
);

// GSM 03.38 extension table (ESC + code, 2 septets each).
const GSM7_EXTENSION = new Set("\f^{}\\[~]|€");

const GSM7_SINGLE = 160;
const GSM7_MULTI = 153;
const UCS2_SINGLE = 70;
const UCS2_MULTI = 67;

/** True when every character is in the GSM-7 default alphabet or extension table. */
export function isGsm7(text) {
  for (const ch of text) {
    if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return false;
  }
  return true;
}

/**
 * Count an SMS body.
 * @param {string} text
 * @returns {{encoding: "gsm7"|"ucs2", segments: number, units: number, perSegment: number, remaining: number}}
 */
export function countSegments(text) {
  const value = text == null ? "" : String(text);
  const encoding = isGsm7(value) ? "gsm7" : "ucs2";
  const single = encoding === "gsm7" ? GSM7_SINGLE : UCS2_SINGLE;
  const multi = encoding === "gsm7" ? GSM7_MULTI : UCS2_MULTI;
  // for..of walks code points: a surrogate pair comes as one 2-unit string.
  const costs = [];
  for (const ch of value) {
    costs.push(encoding === "gsm7" ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : ch.length);
  }
  const units = costs.reduce((a, b) => a + b, 0);
  if (units === 0) {
    return { encoding, segments: 0, units: 0, perSegment: single, remaining: single };
  }
  if (units <= single) {
    return { encoding, segments: 1, units, perSegment: single, remaining: single - units };
  }
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > multi) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return { encoding, segments, units, perSegment: multi, remaining: multi - used };
}
