// Texts with variables ({{nome}}, {{valor}}, {{vencimento}}, {{agente}}, contact fields): the browser
// twin of atende/domain/variables.py (same rule, same results; tests/domain/test_variables_js_parity.py
// compares them). Plain ES module, no dependencies.
//
// - A placeholder is {{ name }}; names compare in a normal form: accents dropped, lower case,
//   spaces and hyphens as "_", anything else outside [a-z0-9_] removed.
// - A missing or blank value leaves the placeholder as written and reports the name.

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** "Data de Vencimento" → "data_de_vencimento"; "Endereço" → "endereco". */
export function normalName(name) {
  const plain = String(name).trim().toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  return plain.replace(/[\s-]+/g, "_").replace(/[^a-z0-9_]/g, "");
}

/** The values by normal name, as text; blank ones are left out. */
export function normalValues(values) {
  const out = Object.create(null);
  for (const [key, value] of Object.entries(values || {})) {
    if (value === null || value === undefined) continue;
    const text = String(value).trim();
    const name = normalName(key);
    if (text && name && !Object.hasOwn(out, name)) out[name] = text;
  }
  return out;
}

/** The variables a text uses, in normal form, in order of first appearance. */
export function variablesIn(text) {
  const seen = [];
  for (const m of String(text).matchAll(PLACEHOLDER)) {
    const name = normalName(m[1]);
    if (name && !seen.includes(name)) seen.push(name);
  }
  return seen;
}

/** Fill the placeholders from `values` (normal names): {text, missing}. */
export function render(text, values) {
  const missing = [];
  const filled = String(text).replace(PLACEHOLDER, (whole, raw) => {
    const name = normalName(raw);
    const value = name && Object.hasOwn(values || {}, name) ? values[name] : undefined;
    if (value) return value;
    if (name && !missing.includes(name)) missing.push(name);
    return whole;
  });
  return { text: filled, missing };
}
