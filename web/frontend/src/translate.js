// The modeler in the page's language (issue #20): bpmn-js, diagram-js and the properties panel ask the
// `translate` service for every word they show (palette, context pad, replace menu, the panel's groups and
// labels, its header's element type, its validation messages). In Chinese it answers from bpmn-js-i18n's
// community translation with eventflow's own words over it (translations-zh.js: the glossary's terms, the
// properties panel, the element types); in English it gives the words back as they are.
import communityZh from "bpmn-js-i18n/translations/zn.js";
import eventflowZh from "./translations-zh.js";

export function wordsFor(locale) {
  return String(locale || "").toLowerCase().startsWith("zh") ? { ...communityZh, ...eventflowZh } : {};
}

// `{name}` in a template is filled from `replacements`; a placeholder without a value stays as written
export function translator(words) {
  return function translate(template, replacements) {
    const text = Object.prototype.hasOwnProperty.call(words, template) ? words[template] : template;
    const values = replacements || {};
    return text.replace(/{([^{}]+)}/g, (whole, key) => (values[key] === undefined ? whole : String(values[key])));
  };
}

// a bpmn-js module that replaces the `translate` service for the page's locale
export function translateModule(locale) {
  return { translate: ["value", translator(wordsFor(locale))] };
}
