"""Does a JSON answer have the shape a JSON schema asks for?

A backend that cannot enforce the schema while decoding (an OpenAI-compatible server that
ignores it, or one that only knows plain JSON mode) can answer with valid JSON of the wrong
shape. This checks the subset of JSON Schema the memory engine's schemas use (type,
properties, required, additionalProperties, items, enum, min/maxItems, min/maxLength), so such
an answer can be asked for again. No dependency: ``jsonschema`` is not needed for this much.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}
MAX_ERRORS = 5
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What in ``value`` does not match ``schema`` (empty when it matches)."""
    errors: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool))
        if not ok:
            return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum'][:10]}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                errors += schema_errors(item, items, f"{path}[{i}]")
    elif isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key!r}")
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected key {key!r}")
    return errors[:MAX_ERRORS]


def check_json(raw: str, schema: dict[str, Any]) -> list[str]:
    """``schema_errors`` of the JSON text ``raw`` (an error if it is not JSON at all)."""
    try:
        value = json.loads(_FENCE.sub("", raw.strip()))
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return schema_errors(value, schema)
