// Renders the server's OpenAPI document (GET openapi.json) as a readable reference: one
// section per tag, one block per operation with its description, parameters, request body
// and responses. Everything from the document is inserted as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Descriptions use `code` spans: shown as <code>, the rest as text.
function prose(text) {
  const parts = String(text ?? "").split("`");
  return parts.map((part, i) => (i % 2 === 1 ? el("code", {}, part) : part));
}

// "#/components/schemas/Name" -> "Name"
function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array") return `${schemaName(schema.items)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  return schema.type ?? "";
}

function anchor(method, path) {
  return `${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, "-");
}

function operationBlock(method, path, op) {
  const parameters = op.parameters ?? [];
  const responses = Object.entries(op.responses ?? {});
  const body = op.requestBody?.content ?? {};
  return el(
    "article",
    { class: "operation", id: anchor(method, path), "data-search": `${method} ${path} ${op.description ?? ""}`.toLowerCase() },
    el("h3", {}, el("span", { class: `method ${method}` }, method), el("code", {}, path)),
    op.summary ? el("p", {}, prose(op.summary)) : null,
    op.description ? el("p", {}, prose(op.description)) : null,
    parameters.length
      ? el(
          "table",
          {},
          el("caption", { class: "visually-hidden" }, "Parameters"),
          el("thead", {}, el("tr", {}, el("th", {}, "Parameter"), el("th", {}, "In"), el("th", {}, "Type"), el("th", {}, "Description"))),
          el(
            "tbody",
            {},
            parameters.map((p) =>
              el(
                "tr",
                {},
                el("td", {}, el("code", {}, p.name), p.required ? " (required)" : ""),
                el("td", {}, p.in),
                el("td", {}, schemaName(p.schema)),
                el("td", {}, prose(p.description)),
              ),
            ),
          ),
        )
      : null,
    Object.keys(body).length
      ? el(
          "p",
          {},
          "Request body: ",
          Object.entries(body).map(([type, content], i) => [
            i ? "; " : "",
            el("code", {}, type),
            content.schema ? ` (${schemaName(content.schema)})` : "",
          ]),
          op.requestBody.description ? [" — ", prose(op.requestBody.description)] : "",
        )
      : null,
    responses.length
      ? el(
          "table",
          {},
          el("caption", { class: "visually-hidden" }, "Responses"),
          el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Description"), el("th", {}, "Content"))),
          el(
            "tbody",
            {},
            responses.map(([status, r]) =>
              el(
                "tr",
                {},
                el("td", {}, status),
                el("td", {}, prose(r.description)),
                el(
                  "td",
                  {},
                  Object.entries(r.content ?? {}).map(([type, content], i) => [
                    i ? ", " : "",
                    el("code", {}, type),
                    content.schema ? ` ${schemaName(content.schema)}` : "",
                  ]),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

function render(doc) {
  document.title = `${doc.info?.title ?? "API"} reference`;
  $("title").textContent = `${doc.info?.title ?? "API"} reference (${doc.info?.version ?? ""})`;
  $("description").replaceChildren(...prose(doc.info?.description));

  // Group operations by their first tag, in the document's tag order.
  const groups = new Map((doc.tags ?? []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? "other";
      if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
      groups.get(tag).ops.push([method, path, op]);
    }
  }
  const sections = [];
  const links = [];
  for (const { tag, ops } of groups.values()) {
    if (!ops.length) continue;
    const id = `tag-${anchor("", tag.name)}`;
    links.push(el("a", { href: `#${id}` }, `${tag.name} (${ops.length})`));
    sections.push(
      el(
        "section",
        { id, class: "tag" },
        el("h2", {}, tag.name),
        tag.description ? el("p", { class: "lead" }, prose(tag.description)) : null,
        ops.map(([method, path, op]) => operationBlock(method, path, op)),
      ),
    );
  }
  $("tags").replaceChildren(...links);
  $("reference").replaceChildren(...sections);
  document.body.dataset.ready = "true";
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

function filter() {
  const words = $("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of document.querySelectorAll(".operation")) {
    op.hidden = !words.every((w) => op.dataset.search.includes(w));
  }
  for (const section of document.querySelectorAll("section.tag")) {
    section.hidden = !section.querySelector(".operation:not([hidden])");
  }
}

async function main() {
  try {
    // GET /openapi.json: the document this page renders.
    const response = await fetch("openapi.json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`openapi.json answered ${response.status}`);
    render(await response.json());
  } catch (e) {
    $("message").textContent = `Could not load the API description: ${e.message}`;
    $("message").classList.add("error");
    $("message").hidden = false;
  }
}

$("filter").addEventListener("input", filter);
main();
