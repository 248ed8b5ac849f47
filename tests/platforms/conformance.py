"""Checking the HTTP requests an adapter sends against a platform's OpenAPI document.

    spec = OpenAPISpec.load("x-api-v2-openapi.json", aliases={"tweet.fields": "post.fields"})
    recorder = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [recorder]}) as client:
        ...                                  # drive the adapter
    assert spec.problems(recorder.requests) == []

For every request: an operation exists for its method and path (literal segments are preferred
over templates, as OpenAPI requires); path, query and header parameters are declared, present
when required and valid against their schemas (query strings coerced by the schema's type: a
`style: form, explode: false` array is split on commas, integers and booleans are parsed); a
security requirement means an `Authorization` header; and the body has a declared content type
and validates against that media type's schema, `$ref`s resolved within the document. JSON bodies
are validated as sent; `multipart/form-data` parts become an object (a file part is a string, a
text part is coerced by its property's type).

The schemas are checked with `jsonschema_rs` (Draft 4 for OpenAPI 3.0, 2020-12 for 3.1).

Spec quirks are handled by name, never silently: `aliases` maps a parameter we send to the name
a newer spec gave it (X renamed `tweet.fields` to `post.fields` in 2.167); `any_of_bodies` names
operations whose body's top-level `oneOf` is read as `anyOf`, because its branches overlap
(Mastodon's createStatus: a status with text and media matches both TextStatus and MediaStatus,
so no such body could ever pass `oneOf`). Each use of a quirk is reported in `notes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs

__all__ = ["OpenAPISpec", "Recorder", "specs_dir"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def specs_dir() -> Path:
    """`<repo>/../shared/specs`: the shared folder is cloned beside the repository."""
    repo_root = Path(__file__).resolve().parents[2]
    specs = repo_root.parent / "shared" / "specs"
    if not specs.is_dir():
        raise FileNotFoundError(
            f"the platform specs are missing: expected {specs} (the `shared` folder is cloned "
            f"as a sibling of the repository root {repo_root})"
        )
    return specs


class Recorder:
    """An httpx request event hook that keeps every request, its body read."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        await request.aread()
        self.requests.append(request)

    def clear(self) -> None:
        self.requests.clear()


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path template of the document."""

    method: str
    template: str
    spec: Mapping[str, Any]
    pattern: re.Pattern[str]
    parameters: tuple[Mapping[str, Any], ...]


@dataclass
class OpenAPISpec:
    """A loaded OpenAPI document and the request checks against it."""

    document: dict[str, Any]
    name: str = "spec"
    aliases: Mapping[str, str] = field(default_factory=dict)
    any_of_bodies: frozenset[str] = frozenset()
    notes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        version = str(self.document.get("openapi", ""))
        self._validator_class: Any = (
            jsonschema_rs.Draft202012Validator
            if version.startswith("3.1")
            else jsonschema_rs.Draft4Validator
        )
        self._operations = sorted(
            self._read_operations(), key=lambda op: (op.template.count("{"), op.template)
        )
        self._validators: dict[str, Any] = {}

    @classmethod
    def load(
        cls,
        filename: str,
        *,
        aliases: Mapping[str, str] | None = None,
        any_of_bodies: Iterable[str] = (),
    ) -> OpenAPISpec:
        """A spec from `<shared>/specs/<filename>` (read once per run: the files are large)."""
        return cls(
            _read(specs_dir() / filename),
            name=filename,
            aliases=aliases or {},
            any_of_bodies=frozenset(any_of_bodies),
        )

    # -- checking ----------------------------------------------------------------------------

    def problems(self, requests: Iterable[httpx.Request]) -> list[str]:
        """Every way the requests break the spec, each prefixed with `METHOD /path`."""
        found: list[str] = []
        for request in requests:
            found.extend(f"{request.method} {request.url.path}: {p}" for p in self.check(request))
        return found

    def operation_of(self, request: httpx.Request) -> Operation | None:
        """The operation the request calls, if the document has one."""
        method = request.method.lower()
        for operation in self._operations:
            if operation.method == method and operation.pattern.fullmatch(request.url.path):
                return operation
        return None

    def check(self, request: httpx.Request) -> list[str]:
        """How one request breaks the spec (empty: it conforms)."""
        operation = self.operation_of(request)
        if operation is None:
            return [f"no operation {request.method} {request.url.path} in {self.name}"]
        match = operation.pattern.fullmatch(request.url.path)
        assert match is not None
        return [
            *self._check_security(operation, request),
            *self._check_parameters(operation, request, match.groupdict()),
            *self._check_body(operation, request),
        ]

    def _check_security(self, operation: Operation, request: httpx.Request) -> list[str]:
        requirements = operation.spec.get("security", self.document.get("security", []))
        if not requirements or any(not requirement for requirement in requirements):
            return []
        if not request.headers.get("authorization", "").strip():
            return ["the operation needs credentials, and no Authorization header was sent"]
        return []

    def _check_parameters(
        self, operation: Operation, request: httpx.Request, path_values: Mapping[str, str]
    ) -> list[str]:
        found: list[str] = []
        declared = {(p["in"], p["name"]): p for p in operation.parameters}
        query = request.url.params
        for (where, name), parameter in declared.items():
            values: list[str]
            if where == "path":
                values = [path_values[name]] if name in path_values else []
            elif where == "query":
                values = query.get_list(name)
                alias = next(
                    (ours for ours, theirs in self.aliases.items() if theirs == name), None
                )
                if not values and alias is not None and alias in query:
                    values = query.get_list(alias)
                    self.notes.add(f"{self.name}: sent `{alias}`, which this spec names `{name}`")
            elif where == "header":
                value = request.headers.get(name)
                values = [] if value is None else [value]
            else:
                continue
            if not values:
                if parameter.get("required") or where == "path":
                    found.append(f"required {where} parameter `{name}` is missing")
                continue
            found.extend(self._check_parameter_value(parameter, values))
        for name in query:
            if ("query", name) in declared:
                continue
            if name in self.aliases and ("query", self.aliases[name]) in declared:
                continue
            found.append(f"query parameter `{name}` is not declared")
        return found

    def _check_parameter_value(self, parameter: Mapping[str, Any], values: list[str]) -> list[str]:
        schema = self._resolve(parameter.get("schema", {}))
        where, name = parameter["in"], parameter["name"]
        if where == "header" and schema.get("type") not in (None, "string"):
            # Mastodon's Idempotency-Key is declared `type: object`: no header can be one.
            self.notes.add(
                f"{self.name}: header `{name}` is declared as {schema.get('type')}; "
                "only its presence is checked"
            )
            return []
        if schema.get("type") == "array":
            explode = parameter.get("explode", parameter.get("style", "form") == "form")
            items = values if explode else [item for v in values for item in v.split(",")]
            item_schema = self._resolve(schema.get("items", {}))
            value: Any = [_coerce(item, item_schema) for item in items]
        else:
            value = _coerce(values[-1], schema)
        return [
            f"{where} parameter `{name}`={values!r}: {message}"
            for message in self._validate(parameter.get("schema", {}), value)
        ]

    def _check_body(self, operation: Operation, request: httpx.Request) -> list[str]:
        body_spec = operation.spec.get("requestBody")
        content = request.content
        if body_spec is None:
            return [] if not content else ["the operation takes no body, and one was sent"]
        body_spec = self._resolve(body_spec)
        if not content:
            return ["the request body is required"] if body_spec.get("required") else []
        sent_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        media_types = body_spec.get("content", {})
        if sent_type not in media_types:
            return [f"content type {sent_type!r} is not one of {sorted(media_types)}"]
        schema = media_types[sent_type].get("schema", {})
        operation_id = operation.spec.get("operationId")
        if operation_id in self.any_of_bodies and "oneOf" in schema:
            schema = {("anyOf" if k == "oneOf" else k): v for k, v in schema.items()}
            self.notes.add(
                f"{self.name}: {operation_id}'s body is checked with anyOf instead of its oneOf, "
                "whose branches overlap"
            )
        if sent_type == "application/json":
            try:
                value = json.loads(content)
            except ValueError as exc:
                return [f"the body is not JSON: {exc}"]
        elif sent_type == "multipart/form-data":
            value = _multipart_object(
                request.headers["content-type"], content, self._properties(schema)
            )
        else:
            return []
        return [f"body: {message}" for message in self._validate(schema, value)]

    # -- schemas -----------------------------------------------------------------------------

    def _validate(self, schema: Mapping[str, Any], value: Any) -> list[str]:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            root = {**schema, "components": self.document.get("components", {})}
            validator = self._validators[key] = self._validator_class(root)
        return [
            f"{'/'.join(str(part) for part in error.instance_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(value)
        ]

    def _resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in node:
            node = self._pointer(str(node["$ref"]))
            seen += 1
            if seen > 32:
                raise ValueError(f"a $ref cycle in {self.name}")
        return dict(node)

    def _pointer(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return dict(node)

    def _properties(self, schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The properties of an object schema, through $ref, allOf, anyOf and oneOf."""
        resolved = self._resolve(schema)
        properties = {
            name: self._resolve(value) for name, value in resolved.get("properties", {}).items()
        }
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in resolved.get(keyword, []):
                for name, value in self._properties(branch).items():
                    properties.setdefault(name, value)
        return properties

    def _read_operations(self) -> Iterator[Operation]:
        for template, item in self.document.get("paths", {}).items():
            shared = [self._resolve(p) for p in item.get("parameters", [])]
            for method in _METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                own = [self._resolve(p) for p in spec.get("parameters", [])]
                merged = {(p["in"], p["name"]): p for p in [*shared, *own]}
                yield Operation(
                    method=method,
                    template=template,
                    spec=spec,
                    pattern=_template_pattern(template),
                    parameters=tuple(merged.values()),
                )


# -- helpers -------------------------------------------------------------------------------------


@cache
def _read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _template_pattern(template: str) -> re.Pattern[str]:
    pieces = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        f"(?P<{_group(piece[1:-1])}>[^/]+)" if piece.startswith("{") else re.escape(piece)
        for piece in pieces
    )
    return re.compile(regex)


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _coerce(text: str, schema: Mapping[str, Any]) -> Any:
    """A query string or form value as the schema's type would have it (left as is if unfit)."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and re.fullmatch(r"-?\d+", text):
        return int(text)
    if "number" in kinds and re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


def _multipart_object(
    content_type: str, body: bytes, properties: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    value: dict[str, Any] = {}
    for part in message.iter_parts() if isinstance(message, Message) else []:
        disposition = part.get("content-disposition", "")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        if "filename=" in disposition:
            value[name] = f"<{len(raw)} bytes>"
        else:
            value[name] = _coerce(raw.decode("utf-8"), properties.get(name, {}))
    return value
