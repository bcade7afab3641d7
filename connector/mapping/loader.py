"""Load a mapping file: YAML, then the pydantic model, then the API fields.

Every problem is reported with its line, as ``file, line N: what is wrong.
How to fix it.``, and all problems of a file are raised together in one
:class:`MappingError`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from connector.errors import MappingError
from connector.mapping.model import MappingFile
from connector.mapping.plan import Plan, compile_plan
from connector.mapping.yaml_lines import LineIndex, Loc, Problem, read_yaml

if TYPE_CHECKING:
    from connector.transform.identity import IdentityPolicy

API_VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class OrderMapping:
    """A validated mapping file, compiled for one Orders API version.

    ``fingerprint`` is the SHA-256 of a canonical JSON form of the validated
    mapping and the API version: comments and formatting do not change it,
    any change of meaning does.
    """

    path: Path
    api_version: str
    model: MappingFile
    lines: LineIndex
    plan: Plan
    fingerprint: str

    @property
    def identity_policy(self) -> IdentityPolicy:
        """How identities are sent, from the ``identity:`` block."""
        from connector.transform.identity import IdentityPolicy

        identity = self.model.identity
        return IdentityPolicy(
            send_raw_email=identity.send_raw_email,
            send_raw_phone=identity.send_raw_phone,
            default_region=identity.default_region,
        )


def load_mapping(path: str | Path, api_version: str = "v1") -> OrderMapping:
    """Read and validate a mapping file for Orders API ``api_version``.

    Raises:
        MappingError: the file cannot be read, is not valid YAML, or breaks
            a rule. The message lists every problem with its line.
    """
    path = Path(path)
    if api_version not in API_VERSIONS:
        raise MappingError(
            f"unknown Orders API version {api_version!r}. Use v1 or v2.",
            path=str(path),
        )

    data, index, problems = read_yaml(path)
    if not isinstance(data, dict):
        raise MappingError(
            "the mapping file must be a YAML mapping with orders:, fields: and "
            "products: at the top level. See mappings/README.md for the format.",
            path=str(path),
            line=index.line_of(()),
        )

    try:
        model = MappingFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe_errors(exc, index))
        raise _combined(path, problems) from None

    plan, plan_problems = compile_plan(model, index, api_version)
    problems.extend(plan_problems)
    if problems or plan is None:
        raise _combined(path, problems)

    return OrderMapping(
        path=path,
        api_version=api_version,
        model=model,
        lines=index,
        plan=plan,
        fingerprint=fingerprint_of(model, api_version),
    )


def fingerprint_of(model: MappingFile, api_version: str) -> str:
    """Return the SHA-256 hex digest of the canonical form of ``model``."""
    canonical = json.dumps(
        {"api_version": api_version, "mapping": model.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _combined(path: Path, problems: list[Problem]) -> MappingError:
    ordered = sorted(problems, key=lambda problem: problem.line)
    first, rest = ordered[0], ordered[1:]
    message = first.message
    for problem in rest:
        message += f"\n{path}, line {problem.line}: {problem.message}"
    return MappingError(message, path=str(path), line=first.line)


def _describe_errors(exc: ValidationError, index: LineIndex) -> list[Problem]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        line = index.line_of(loc[:-1] if error["type"] == "missing" else loc)
        problems.append(Problem(line, _describe_error(error, loc)))
    return problems


def _describe_error(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    where = _dotted(loc[:-1]) or "the top level"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        listed = f" Allowed keys: {', '.join(allowed)}." if allowed else ""
        return f"unknown key {key!r} in {where}.{hint}{listed}"
    if kind == "missing":
        return f"{where} is missing the required key {loc[-1]!r}. Add it."

    message = str(error["msg"]).removeprefix("Value error, ")
    label = _dotted(loc) or "the top level"
    return f"{label}: {message[:1].lower()}{message[1:]}."


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _allowed_keys(loc: Loc) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """Return the model class that validates the YAML mapping at ``loc``."""
    current: Any = MappingFile
    for part in loc:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _without_none(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation
