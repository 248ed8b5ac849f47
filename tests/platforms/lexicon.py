"""A small AT Protocol lexicon validator, for checking the records and requests we send.

No PyPI package validates JSON data against lexicon files (the `atproto` SDK generates models from
them instead), so this is a focused one. It reads the lexicon JSON in
`shared/specs/atproto-lexicons/` (beside the repository) and checks, with a JSON path per problem:

- objects: `required` and `nullable` properties, and (strictly, by default) no unknown properties:
  lexicon objects are open to new fields, but in what *we* write an unknown key is a typo;
- `ref`s (`#def`, `nsid`, `nsid#def`) and `union`s (the `$type` must name one of the `refs`);
- strings: `maxLength`/`minLength` in UTF-8 bytes, `maxGraphemes`/`minGraphemes`, `enum`,
  `const` and the formats (`datetime`, `did`, `uri`, `language`, `handle`, `at-uri`, `cid`, ...);
- integers (`minimum`, `maximum`, `enum`, `const`; a bool is not an integer), booleans;
- arrays (`maxLength`/`minLength` in items, each item);
- blobs (`$type: blob`, a CID `ref`, `mimeType` matching `accept`, `size` within `maxSize`).

    errors = lexicons().validate_record("app.bsky.feed.post", record)
    assert errors == []
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import grapheme

__all__ = ["LEXICON_DIR", "Lexicons", "assert_valid_record", "lexicons"]

LEXICON_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "atproto-lexicons"

_FORMATS: dict[str, re.Pattern[str]] = {
    "did": re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]"),
    "handle": re.compile(
        r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
        r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    ),
    "uri": re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:\S+"),
    "language": re.compile(r"(?:i|[a-z]{2,3})(?:-[a-zA-Z0-9]{1,8})*"),
    "nsid": re.compile(r"[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+){2,}"),
    "cid": re.compile(r"[a-zA-Z0-9+=]{8,256}"),
    "tid": re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}"),
    "record-key": re.compile(r"(?!\.{1,2}$)[a-zA-Z0-9_~.:-]{1,512}"),
    "at-uri": re.compile(r"at://[a-zA-Z0-9._:%-]+(?:/[a-zA-Z0-9.-]+(?:/[a-zA-Z0-9_~.:-]+)?)?"),
}
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


class Lexicons:
    """The lexicons under `root`, loaded on first use, and validation against them."""

    def __init__(self, root: Path = LEXICON_DIR, *, strict: bool = True) -> None:
        if not root.is_dir():
            raise FileNotFoundError(f"no lexicons at {root}")
        self.root = root
        self.strict = strict
        self._docs: dict[str, dict[str, Any]] = {}

    def doc(self, nsid: str) -> dict[str, Any]:
        """The lexicon document `nsid` (e.g. `app.bsky.feed.post`)."""
        if nsid not in self._docs:
            path = self.root.joinpath(*nsid.split(".")).with_suffix(".json")
            doc: dict[str, Any] = json.loads(path.read_text())
            if doc.get("id") != nsid:
                raise ValueError(f"{path} has id {doc.get('id')!r}, not {nsid!r}")
            self._docs[nsid] = doc
        return self._docs[nsid]

    def definition(self, ref: str, *, base: str) -> tuple[str, dict[str, Any]]:
        """(its full name, the definition) of `ref`, read relative to the lexicon `base`."""
        nsid, _, name = ref.partition("#")
        nsid = nsid or base
        name = name or "main"
        defs: dict[str, Any] = self.doc(nsid)["defs"]
        if name not in defs:
            raise KeyError(f"{nsid} has no definition {name!r}")
        return (nsid if name == "main" else f"{nsid}#{name}"), defs[name]

    def validate_record(self, nsid: str, value: Any) -> list[str]:
        """Every problem of `value` as a record of collection `nsid`; empty when valid."""
        _, main = self.definition(nsid, base=nsid)
        if main.get("type") != "record":
            raise ValueError(f"{nsid} is not a record type")
        errors: list[str] = []
        if not isinstance(value, dict):
            return [f"$: must be an object, not {type(value).__name__}"]
        if value.get("$type") != nsid:
            errors.append(f"$.$type: must be {nsid!r}, not {value.get('$type')!r}")
        self._object(main["record"], value, "$", nsid, errors, allow={"$type"})
        return errors

    def validate_input(self, nsid: str, body: Any) -> list[str]:
        """Every problem of `body` as the JSON input of procedure `nsid`."""
        _, main = self.definition(nsid, base=nsid)
        errors: list[str] = []
        self._value(main["input"]["schema"], body, "$", nsid, errors)
        return errors

    def validate_output(self, nsid: str, body: Any) -> list[str]:
        """Every problem of `body` as the JSON output of query or procedure `nsid`."""
        _, main = self.definition(nsid, base=nsid)
        errors: list[str] = []
        self._value(main["output"]["schema"], body, "$", nsid, errors)
        return errors

    # -- by type ---------------------------------------------------------------------------

    def _value(
        self, schema: dict[str, Any], value: Any, path: str, base: str, errors: list[str]
    ) -> None:
        kind = schema.get("type")
        if kind == "ref":
            name, target = self.definition(schema["ref"], base=base)
            self._value(target, value, path, name.partition("#")[0], errors)
        elif kind == "union":
            self._union(schema, value, path, base, errors)
        elif kind == "object":
            self._object(schema, value, path, base, errors)
        elif kind == "string":
            self._string(schema, value, path, errors)
        elif kind == "integer":
            self._integer(schema, value, path, errors)
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append(f"{path}: must be a boolean")
        elif kind == "array":
            self._array(schema, value, path, base, errors)
        elif kind == "blob":
            self._blob(schema, value, path, errors)
        elif kind == "cid-link":
            if not (isinstance(value, dict) and set(value) == {"$link"}):
                errors.append(f"{path}: must be a CID link {{'$link': ...}}")
        elif kind == "unknown":
            if not isinstance(value, dict):
                errors.append(f"{path}: must be an object")
        else:
            raise NotImplementedError(f"lexicon type {kind!r} at {path}")

    def _object(
        self,
        schema: dict[str, Any],
        value: Any,
        path: str,
        base: str,
        errors: list[str],
        *,
        allow: set[str] | None = None,
    ) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: must be an object, not {type(value).__name__}")
            return
        properties: dict[str, Any] = schema.get("properties", {})
        nullable = set(schema.get("nullable", []))
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing required key {key!r}")
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in properties:
                if item is None and key in nullable:
                    continue
                self._value(properties[key], item, where, base, errors)
            elif self.strict and key not in (allow or set()):
                errors.append(f"{where}: not a property of this object")

    def _union(
        self, schema: dict[str, Any], value: Any, path: str, base: str, errors: list[str]
    ) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("$type"), str):
            errors.append(f"{path}: a union member must be an object with a $type")
            return
        wanted = _full_name(value["$type"])
        for ref in schema["refs"]:
            name, target = self.definition(ref, base=base)
            if name == wanted:
                self._object(target, value, path, name.partition("#")[0], errors, allow={"$type"})
                return
        if self.strict or schema.get("closed"):
            names = ", ".join(self.definition(ref, base=base)[0] for ref in schema["refs"])
            errors.append(f"{path}.$type: {value['$type']!r} is not one of {names}")

    def _string(self, schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, str):
            errors.append(f"{path}: must be a string, not {type(value).__name__}")
            return
        size = len(value.encode("utf-8", "surrogatepass"))
        graphemes = grapheme.length(value)
        for key, actual, too_long in (
            ("maxLength", size, True),
            ("minLength", size, False),
            ("maxGraphemes", graphemes, True),
            ("minGraphemes", graphemes, False),
        ):
            limit = schema.get(key)
            if limit is not None and (actual > limit if too_long else actual < limit):
                errors.append(f"{path}: {key} {limit}, got {actual}")
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
        if "const" in schema and value != schema["const"]:
            errors.append(f"{path}: must be {schema['const']!r}")
        fmt = schema.get("format")
        if fmt is not None and not _valid_format(fmt, value):
            errors.append(f"{path}: {value!r} is not a valid {fmt}")

    def _integer(self, schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: must be an integer, not {type(value).__name__}")
            return
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: minimum {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: maximum {schema['maximum']}, got {value}")
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value} is not one of {schema['enum']}")
        if "const" in schema and value != schema["const"]:
            errors.append(f"{path}: must be {schema['const']}")

    def _array(
        self, schema: dict[str, Any], value: Any, path: str, base: str, errors: list[str]
    ) -> None:
        if not isinstance(value, list):
            errors.append(f"{path}: must be an array, not {type(value).__name__}")
            return
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: at most {schema['maxLength']} items, got {len(value)}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: at least {schema['minLength']} items, got {len(value)}")
        for i, item in enumerate(value):
            self._value(schema["items"], item, f"{path}[{i}]", base, errors)

    def _blob(self, schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict) or value.get("$type") != "blob":
            errors.append(f"{path}: must be a blob ($type 'blob')")
            return
        ref = value.get("ref")
        if not (isinstance(ref, dict) and _valid_format("cid", str(ref.get("$link", "")))):
            errors.append(f"{path}.ref: must be {{'$link': <cid>}}")
        mime = value.get("mimeType")
        size = value.get("size")
        if not isinstance(mime, str) or not mime:
            errors.append(f"{path}.mimeType: must be a MIME type")
        elif "accept" in schema and not any(_mime_matches(p, mime) for p in schema["accept"]):
            errors.append(f"{path}.mimeType: {mime!r} is not accepted ({schema['accept']})")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            errors.append(f"{path}.size: must be a byte count")
        elif "maxSize" in schema and size > schema["maxSize"]:
            errors.append(f"{path}.size: maxSize {schema['maxSize']}, got {size}")


def _full_name(type_name: str) -> str:
    return type_name.removesuffix("#main")


def _mime_matches(pattern: str, mime: str) -> bool:
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return mime.startswith(pattern[:-1])
    return mime == pattern


def _valid_format(fmt: str, value: str) -> bool:
    if fmt == "datetime":
        if not _DATETIME.fullmatch(value):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if fmt == "at-identifier":
        return _valid_format("did", value) or _valid_format("handle", value)
    pattern = _FORMATS.get(fmt)
    if pattern is None:
        raise NotImplementedError(f"string format {fmt!r}")
    return pattern.fullmatch(value) is not None


@cache
def lexicons() -> Lexicons:
    """The shared lexicons, strict (unknown keys in our records are errors)."""
    return Lexicons()


def assert_valid_record(nsid: str, value: Any) -> None:
    """Fail the test, listing every problem, unless `value` is a valid `nsid` record."""
    errors = lexicons().validate_record(nsid, value)
    assert not errors, f"invalid {nsid} record:\n  " + "\n  ".join(errors)
