"""The spec's JSON Schema: what ``xlsearch schema`` prints and ``docs/reference/spec.schema.json`` holds.

It is pydantic's schema of :class:`xlsearch.spec.SweepSpec` (every field with its type, default,
bounds and description), made to say what the spec accepts to a JSON Schema validator and to
editors (the ``# yaml-language-server: $schema=...`` line at the top of a spec):

- ``base_dir`` is not a key a user writes (the spec's folder, set when it is read): dropped;
- bounds pydantic leaves in its own words inside an optional number (``gt``, ``le``) become
  JSON Schema's (``exclusiveMinimum``, ``maximum``);
- the branches of a union chosen by the value's shape are ``anyOf`` (a searched value's constant
  branch accepts anything pydantic's ``oneOf`` would count twice); that constant is a number or a
  word;
- ``scheduler: asha`` / ``scheduler: none``, the shorthand for the scheduler's type, is allowed;
- ``name`` carries its pattern (a validator checks it in pydantic).

The schema checks shapes and single fields, as pydantic does; what involves the registries or
several fields (a model's languages, low <= high, a grid against the budget) is
``xlsearch validate``'s. Nothing here reads a spec or writes a file.
"""
from __future__ import annotations

import json
from typing import Any, get_args

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The committed copy, relative to the repository root (docs/ so the documentation site serves it too).
SCHEMA_FILE = "docs/reference/spec.schema.json"
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a sweep spec (draft 2020-12)."""
    from xlsearch.spec import SLUG, SchedulerSpec, SweepSpec

    schema = _clean(SweepSpec.model_json_schema())
    props = schema["properties"]
    props.pop("base_dir", None)
    schema["required"] = [k for k in schema.get("required", []) if k != "base_dir"]
    props["name"]["pattern"] = f"^{SLUG}$"
    scheduler = props["scheduler"]
    ref = {"$ref": scheduler.pop("$ref")}
    types = list(get_args(SchedulerSpec.model_fields["type"].annotation))
    scheduler["anyOf"] = [ref, {"type": "string", "enum": types,
                                "description": "Shorthand for {type: ...}."}]
    return {"$schema": JSON_SCHEMA_DIALECT, "title": "xlsearch sweep spec", **schema}


def schema_text() -> str:
    """The schema as ``xlsearch schema`` prints it and the committed file holds it."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _clean(node: Any) -> Any:
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "oneOf":
            key = "anyOf"
        if key in _BOUNDS and node.get("type") in ("number", "integer"):
            key = _BOUNDS[key]
        out[key] = _clean(value)
    if "anyOf" in out:
        out["anyOf"] = [branch or {"type": ["number", "string"]} for branch in out["anyOf"]]
    return out
