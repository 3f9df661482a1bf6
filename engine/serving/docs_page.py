"""The API's own docs page, with no external asset, and the classify endpoint's OpenAPI text.

FastAPI's default ``/docs`` (Swagger UI) pulls its JavaScript and CSS from a
CDN; opening it would make the browser reach the internet. This page renders
``/openapi.json`` with a few lines of inline script instead, and its
Content-Security-Policy forbids loading anything from anywhere but this server.
It builds the page with ``textContent`` only, never HTML from the spec.
"""

from __future__ import annotations

DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
)

CLASSIFY_OPENAPI = {
    "description": (
        "Images: multipart/form-data with one file part per image (any field name) and an "
        "optional `top_k` field, or one image as the whole body (`Content-Type: image/jpeg`, "
        "`image/png`…; `?name=` names it in the answer). Texts (text models): JSON "
        '`{"texts": ["..."], "top_k": 3}` or one `text/plain` body. Each item gets '
        "`predictions` or, when it cannot be read, `error` and a stable `code` (`too_large`, "
        "`damaged`, `not_an_image`, `too_thin`, `empty`, `decoder_crashed`, `text_too_long`); "
        "the request itself still succeeds."
    ),
    "parameters": [
        {
            "name": "top_k",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "default": 5},
        },
        {
            "name": "name",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "the input name of a raw image body",
        },
    ],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "top_k": {"type": "integer", "minimum": 1},
                    },
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["texts"],
                    "properties": {
                        "texts": {"type": "array", "items": {"type": "string"}},
                        "top_k": {"type": "integer", "minimum": 1},
                    },
                }
            },
            "text/plain": {"schema": {"type": "string"}},
        },
    },
    "responses": {
        "200": {
            "description": "one result per item, in order",
            "content": {
                "application/json": {
                    "example": {
                        "model": "leaves",
                        "results": [
                            {
                                "input": "a.jpg",
                                "predictions": [{"label": "oak", "score": 0.93}],
                                "width": 640,
                                "height": 480,
                            },
                            {
                                "input": "b.png",
                                "error": "b.png is damaged or incomplete and cannot be decoded.",
                                "code": "damaged",
                            },
                        ],
                    }
                }
            },
        }
    },
}

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Taxon prediction service</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;padding:.1rem .3rem;border-radius:3px}
pre{padding:.6rem;overflow:auto}.op{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;
margin:1rem 0}.verb{font-weight:700;margin-right:.5rem}#token{width:20rem}
</style></head><body>
<h1>Taxon prediction service</h1>
<p>The machine-readable description is at <a href="openapi.json">/openapi.json</a>.
Requests: <code>curl -F file=@photo.jpg http://HOST:PORT/v1/classify</code>.</p>
<p><label>Token (only when the server asks for one):
<input id="token" autocomplete="off"></label> <button id="load">Load</button></p>
<div id="out"></div>
<script>
function el(tag, text, cls){const e=document.createElement(tag);
  if(text!==undefined)e.textContent=text; if(cls)e.className=cls; return e;}
async function load(){
  const out=document.getElementById('out'); out.replaceChildren();
  const token=document.getElementById('token').value.trim();
  const headers=token?{Authorization:'Bearer '+token}:{};
  let spec;
  try{const r=await fetch('openapi.json',{headers}); if(!r.ok)throw new Error(r.status+'');
      spec=await r.json();}
  catch(e){out.append(el('p','Cannot read /openapi.json ('+e.message+'): a token may be needed.'));
      return;}
  out.append(el('p', spec.info.title+' '+spec.info.version));
  for(const [path, ops] of Object.entries(spec.paths)){
    for(const [verb, op] of Object.entries(ops)){
      const box=el('div',undefined,'op'); const h=el('h3');
      h.append(el('span',verb.toUpperCase(),'verb'), el('code',path)); box.append(h);
      if(op.summary)box.append(el('p',op.summary));
      if(op.description)box.append(el('p',op.description));
      for(const p of (op.parameters||[]))
        box.append(el('p',p.in+' parameter '+p.name+(p.description?': '+p.description:'')));
      const body=op.requestBody&&op.requestBody.content;
      if(body)box.append(el('p','Request body: '+Object.keys(body).join(', ')));
      const ok=op.responses&&op.responses['200'];
      const ex=ok&&ok.content&&ok.content['application/json']&&
        ok.content['application/json'].example;
      if(ex)box.append(el('pre',JSON.stringify(ex,null,2)));
      out.append(box);
    }
  }
}
document.getElementById('load').addEventListener('click', load); load();
</script></body></html>
"""
