// 流程建模 (issue #7): bpmn-js's modeler with its properties panel, and a group of the fields the engine
// reads — a user task's form and assignee, a lane's role, a service task's operation and parameters, a
// timer's expression and its deadline kind. The spiffworkflow moddle descriptor keeps those extension
// elements through copy/paste and type changes. Saving deploys the edited file as a new version; a
// refused one marks the element on the diagram with the reason. Every word is in the page's language
// (issue #20): bpmn-js's `translate` service (translate.js), which eventflow's own labels go through too.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from "bpmn-js-properties-panel";
import { SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited } from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import spiffworkflow from "./spiffworkflow.json";
import { translateModule } from "./translate.js";

const page = document.getElementById("modeler-page");
const settings = JSON.parse(document.getElementById("modeler-settings").textContent);

function is(element, type) {
  const bo = element.businessObject;
  return bo && typeof bo.$instanceOf === "function" && bo.$instanceOf(type);
}

// -- spiffworkflow:properties ------------------------------------------------------------------------
function extensionValues(bo, type) {
  return ((bo.extensionElements && bo.extensionElements.values) || []).filter((v) => v.$instanceOf(type));
}

function property(bo, name) {
  for (const props of extensionValues(bo, "spiffworkflow:Properties")) {
    for (const p of props.properties || []) if (p.name === name) return p;
  }
  return null;
}

function setProperty(element, name, value, modeling, factory) {
  const bo = element.businessObject;
  const found = property(bo, name);
  if (found) {
    modeling.updateModdleProperties(element, found, { value });
    return;
  }
  let extensions = bo.extensionElements;
  if (!extensions) {
    extensions = factory.create("bpmn:ExtensionElements", { values: [] });
    modeling.updateProperties(element, { extensionElements: extensions });
  }
  let props = extensionValues(bo, "spiffworkflow:Properties")[0];
  if (!props) {
    props = factory.create("spiffworkflow:Properties", { properties: [] });
    modeling.updateModdleProperties(element, extensions, { values: [...extensions.values, props] });
  }
  const created = factory.create("spiffworkflow:Property", { name, value });
  modeling.updateModdleProperties(element, props, { properties: [...(props.properties || []), created] });
}

function PropertySelect({ element, id, name, label, options }) {
  const modeling = useService("modeling");
  const factory = useService("bpmnFactory");
  const translate = useService("translate");
  return h(SelectEntry, {
    id, element, label: translate(label),
    getValue: () => (property(element.businessObject, name) || {}).value || "",
    setValue: (value) => setProperty(element, name, value, modeling, factory),
    getOptions: () => [{ value: "", label: "—" }, ...options.map((o) => ({ value: o, label: o }))],
  });
}

function PropertyText({ element, id, name, label, description }) {
  const modeling = useService("modeling");
  const factory = useService("bpmnFactory");
  const debounce = useService("debounceInput");
  const translate = useService("translate");
  return h(TextFieldEntry, {
    id, element, label: translate(label), description: translate(description), debounce,
    getValue: () => (property(element.businessObject, name) || {}).value || "",
    setValue: (value) => setProperty(element, name, value, modeling, factory),
  });
}

// -- a lane's role ------------------------------------------------------------------------------------
function LaneRole({ element, id }) {
  const modeling = useService("modeling");
  const translate = useService("translate");
  return h(SelectEntry, {
    id, element, label: translate("Role (the lane's name)"),
    getValue: () => element.businessObject.name || "",
    setValue: (value) => modeling.updateProperties(element, { name: value }),
    getOptions: () => settings.roles.map((r) => ({ value: r, label: r })),
  });
}

// -- a service task's operation and parameters --------------------------------------------------------
function operator(bo) {
  return extensionValues(bo, "spiffworkflow:ServiceTaskOperator")[0] || null;
}

function OperationSelect({ element, id }) {
  const modeling = useService("modeling");
  const translate = useService("translate");
  return h(SelectEntry, {
    id, element, label: translate("Service operation"),
    getValue: () => (operator(element.businessObject) || {}).id || "",
    setValue: (value) => {
      const op = operator(element.businessObject);
      if (op) modeling.updateModdleProperties(element, op, { id: value });
    },
    getOptions: () => settings.operations.map((o) => ({ value: o, label: o })),
  });
}

function ParameterText({ element, id, parameter }) {
  const modeling = useService("modeling");
  const debounce = useService("debounceInput");
  const translate = useService("translate");
  return h(TextFieldEntry, {
    id, element, label: translate("Parameter {name}", { name: parameter.id }),
    description: translate("An expression: a string in quotes"), debounce,
    getValue: () => parameter.value || "",
    setValue: (value) => modeling.updateModdleProperties(element, parameter, { value }),
  });
}

// -- a timer's expression and deadline kind -----------------------------------------------------------
function timerExpression(bo) {
  const definition = (bo.eventDefinitions || []).find((d) => d.$instanceOf("bpmn:TimerEventDefinition"));
  if (!definition) return null;
  return definition.timeDate || definition.timeDuration || definition.timeCycle || null;
}

const DURATION = /^\s*P(\d|T\d)/;

function TimerText({ element, id }) {
  const modeling = useService("modeling");
  const factory = useService("bpmnFactory");
  const debounce = useService("debounceInput");
  const translate = useService("translate");
  return h(TextFieldEntry, {
    id, element, label: translate("Timer expression"), debounce,
    description: translate("A time limit: deadline(\"close\", \"PT24H\", …); a plain timer may be written as PT1H"),
    getValue: () => (timerExpression(element.businessObject) || {}).body || "",
    setValue: (value) => {
      const definition = (element.businessObject.eventDefinitions || []).find((d) => d.$instanceOf("bpmn:TimerEventDefinition"));
      if (!definition) return;
      // a typed duration (PT1H) is a timeDuration; anything else (deadline(…) gives a due time) a timeDate
      const field = DURATION.test(value || "") ? "timeDuration" : "timeDate";
      const other = field === "timeDate" ? "timeDuration" : "timeDate";
      if (definition[field]) {
        modeling.updateModdleProperties(element, definition[field], { body: value });
      } else {
        modeling.updateModdleProperties(element, definition, {
          [other]: undefined, [field]: factory.create("bpmn:FormalExpression", { body: value }) });
      }
    },
  });
}

const KIND = /deadline\(\s*"([^"]*)"/;

function DeadlineKind({ element, id }) {
  const modeling = useService("modeling");
  const translate = useService("translate");
  return h(SelectEntry, {
    id, element, label: translate("Deadline kind"),
    getValue: () => {
      const match = KIND.exec((timerExpression(element.businessObject) || {}).body || "");
      return match ? match[1] : "";
    },
    setValue: (value) => {
      const expression = timerExpression(element.businessObject);
      if (expression && KIND.test(expression.body || "")) {
        modeling.updateModdleProperties(element, expression, { body: expression.body.replace(KIND, `deadline("${value}"`) });
      }
    },
    getOptions: () => settings.deadline_kinds.map((k) => ({ value: k.code, label: `${k.code} ${k.name}` })),
  });
}

// -- the group ----------------------------------------------------------------------------------------
class EventflowProvider {
  constructor(propertiesPanel, translate) {
    propertiesPanel.registerProvider(400, this);
    this.translate = translate;
  }

  getGroups(element) {
    return (groups) => {
      const entries = [];
      if (is(element, "bpmn:UserTask")) {
        entries.push({ id: "ef-form", component: (p) => h(PropertySelect, { ...p, name: "formJsonSchemaFilename", label: "Form", options: settings.forms }), isEdited: isSelectEntryEdited });
        entries.push({ id: "ef-assignee", component: (p) => h(PropertyText, { ...p, name: "assignee", label: "Assignee", description: "community, unit:<variable> or person:<variable>" }), isEdited: isTextFieldEntryEdited });
      }
      if (is(element, "bpmn:Lane")) {
        entries.push({ id: "ef-role", component: LaneRole, isEdited: isSelectEntryEdited });
      }
      if (is(element, "bpmn:ServiceTask") && operator(element.businessObject)) {
        entries.push({ id: "ef-operation", component: OperationSelect, isEdited: isSelectEntryEdited });
        const parameters = (operator(element.businessObject).parameterList || {}).parameters || [];
        parameters.forEach((parameter) => entries.push({ id: `ef-param-${parameter.id}`, component: (p) => h(ParameterText, { ...p, parameter }), isEdited: isTextFieldEntryEdited }));
      }
      if (timerExpression(element.businessObject)) {
        entries.push({ id: "ef-timer", component: TimerText, isEdited: isTextFieldEntryEdited });
        entries.push({ id: "ef-kind", component: DeadlineKind, isEdited: isSelectEntryEdited });
      }
      if (entries.length) groups.splice(1, 0, { id: "eventflow", label: this.translate("Eventflow"), entries, shouldOpen: true });
      return groups;
    };
  }
}
EventflowProvider.$inject = ["propertiesPanel", "translate"];

const modeler = new BpmnModeler({
  container: "#canvas",
  propertiesPanel: { parent: "#properties" },
  additionalModules: [translateModule(settings.locale), BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
                      { __init__: ["eventflowProvider"], eventflowProvider: ["type", EventflowProvider] }],
  moddleExtensions: { spiffworkflow },
});
window.eventflowModeler = modeler;

const status = document.getElementById("modeler-status");

async function open() {
  const response = await fetch(settings.file_url, { credentials: "same-origin" });
  await modeler.importXML(await response.text());
  modeler.get("canvas").zoom("fit-viewport");
  page.dataset.ready = "1";
}

let marked = null;

document.getElementById("modeler-save").addEventListener("click", async () => {
  const { xml } = await modeler.saveXML({ format: true });
  status.textContent = settings.words.saving;
  const response = await fetch(settings.save_url, {
    method: "POST", credentials: "same-origin", body: xml,
    headers: { "Content-Type": "application/xml", "X-CSRFToken": settings.csrf },
  });
  const body = await response.json();
  const canvas = modeler.get("canvas");
  if (marked) canvas.removeMarker(marked, "deploy-error");
  if (response.ok) {
    window.location = body.version_url;
    return;
  }
  status.textContent = `${settings.words.refused}${body.element ? ` ${body.element}` : ""}：${body.reason || body.message}`;
  const registry = modeler.get("elementRegistry");
  if (body.element && registry.get(body.element)) {
    marked = body.element;
    canvas.addMarker(marked, "deploy-error");
    modeler.get("selection").select(registry.get(marked));
  }
});

open().catch((err) => { status.textContent = String(err); });
