"""Tags: names many entries share, invalidated together at a cost that does not grow with them.

Each tag has a version: an ordinary entry of the backend under ``TAG_NAMESPACE``, keyed
by the tag, never expiring (a tag never invalidated has the version ``""``).
``invalidate_tags`` writes one new unique version for each tag it is given, and for
``EPOCH`` (every invalidation changes it). A tagged entry is stored in a tag envelope,
``(TAG_ENVELOPE, stored, {tag: version})``, recording the versions its tags had *before*
its value was computed; a read whose current versions differ is a miss. So an
invalidation that happens during a computation wins, and invalidating a tag carried by a
million entries writes one key.

Tags come from templates filled with the call's arguments (known before the read, so the
entry and its tags' versions are read together), or from a callable of the call and its
value (known only from the entry: the recorded tags' versions are read after it). A
callable's tags are unknown before computing, so ``EPOCH`` is read before and after the
computation; if any invalidation ran meanwhile, the value is returned but not stored.

Everything here is free of I/O; the call path (``_async_caller``) and the backend
template (``_async_backend``) use it.
"""

from __future__ import annotations

import inspect
import re
import string
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, Union

from ._policy import MISSING

#: The namespace tag versions are stored in, one entry per tag, never expiring.
TAG_NAMESPACE: Final = "__tags__"
#: The key (in ``TAG_NAMESPACE``) whose version every invalidation changes. Tags are
#: non-empty, so no tag is ever stored under it.
EPOCH: Final = ""
#: Marks a tagged entry: ``(TAG_ENVELOPE, stored, {tag: version})``. A string, so that every serializer keeps it.
TAG_ENVELOPE: Final = "cache-core:tags:1"
#: The version of a tag never invalidated (or whose version was cleared).
UNVERSIONED: Final = ""


class TagFunction(Protocol):
    """Tags of a call from its value: ``(fn, args, kwargs, value) -> Iterable[str]``."""

    def __call__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any, /) -> Iterable[str]: ...


#: What ``cached(tags=...)`` takes: ``str.format`` templates, or a ``TagFunction``.
Tags = Union[Sequence[str], TagFunction, None]


def new_version() -> str:
    """A version no other invalidation, in any process, ever writes."""
    return uuid.uuid4().hex


def check_tag_names(tags: Iterable[object], *, what: str = "tags") -> list[str]:
    """``tags`` as a list, or ``TypeError``/``ValueError`` if one is not a non-empty ``str``."""
    names = []
    for tag in tags:
        if not isinstance(tag, str):
            msg = f"{what} must be strings, not {type(tag).__qualname__} ({tag!r})"
            raise TypeError(msg)
        if not tag:
            msg = f"{what} must not be empty strings"
            raise ValueError(msg)
        names.append(str(tag))
    return names


def check_tags_option(tags: object) -> tuple[str, ...] | TagFunction | None:
    """The ``tags`` option validated (templates as a tuple; one ``str`` is one template)."""
    if tags is None:
        return None
    if isinstance(tags, str):
        return tuple(check_tag_names([tags], what="tag templates"))
    if callable(tags):
        return tags
    if not isinstance(tags, Iterable):
        msg = f"tags must be a sequence of str.format templates or a callable, not {type(tags).__qualname__}"
        raise TypeError(msg)
    templates = tuple(check_tag_names(tags, what="tag templates"))
    for template in templates:
        _fields(template)
    return templates


_FIELD_ROOT = re.compile(r"[.\[]")


def _fields(template: str) -> list[str]:
    """The argument names ``template`` refers to; ``ValueError`` for a malformed or positional field."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        msg = f"tag template {template!r} is not a valid str.format template: {exc}"
        raise ValueError(msg) from None
    names = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = _FIELD_ROOT.split(field, maxsplit=1)[0]
        if not root or root.isdigit():
            msg = f"tag template {template!r} must name the arguments it uses ({{user_id}}), not {{{field}}}"
            raise ValueError(msg)
        names.append(root)
    return names


@dataclass(frozen=True)
class TagPlan:
    """How one decorated function's calls get their tags.

    Attributes:
        templates: the templates, or ``None`` when tags come from ``of_value``.
        of_value: the callable of the call and its value, or ``None``.
        signature: the function's signature, to fill templates by argument name.
    """

    templates: tuple[str, ...] | None
    of_value: TagFunction | None
    signature: inspect.Signature | None
    #: Without ``*args``/``**kwargs``: the positional parameters' names and every default,
    #: to bind a call by name in a few dict operations (``Signature.bind`` takes ~3 us).
    positional: tuple[str, ...] | None = None
    defaults: Mapping[str, Any] | None = None

    def names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        """The tags of a call, from the templates (the call's arguments bound by name, defaults applied)."""
        positional, defaults, templates = self.positional, self.defaults, self.templates or ()
        if positional is not None and defaults is not None and len(args) <= len(positional):
            arguments = dict(defaults)
            arguments.update(zip(positional, args, strict=False))  # the rest: by keyword, or defaults
            arguments.update(kwargs)
            try:
                return [template.format_map(arguments) for template in templates]
            except KeyError:  # an argument is missing: Signature.bind says which, as a TypeError
                pass
        bound = self.signature.bind(*args, **kwargs)  # type: ignore[union-attr]  # set with templates
        bound.apply_defaults()
        return [template.format_map(bound.arguments) for template in templates]

    def names_of_value(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> list[str]:
        """The tags of a call from its value (``of_value``); one ``str`` is one tag."""
        tags = self.of_value(fn, args, kwargs, value)  # type: ignore[misc]  # set without templates
        name = getattr(fn, "__qualname__", fn)
        return check_tag_names([tags] if isinstance(tags, str) else tags, what=f"the tags of {name}")


def tag_plan(fn: Callable[..., Any], tags: tuple[str, ...] | TagFunction | None) -> TagPlan | None:
    """The ``TagPlan`` of ``fn``, or ``None`` without tags; ``TypeError`` for a template naming no parameter."""
    if tags is None:
        return None
    if not isinstance(tags, tuple):
        return TagPlan(None, tags, None)
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        msg = f"tag templates need the parameters of {name}, which has no signature; pass a callable as tags="
        raise TypeError(msg) from None
    parameters = signature.parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    for template in tags:
        for field in _fields(template):
            if field not in parameters and not open_ended:
                known = ", ".join(parameters) or "none"
                msg = f"tag template {template!r} of {name} names {field!r}, not one of its parameters ({known})"
                raise TypeError(msg)
    kinds = inspect.Parameter
    if any(p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) for p in parameters.values()):
        return TagPlan(tags, None, signature)
    positional = tuple(p.name for p in parameters.values() if p.kind is not kinds.KEYWORD_ONLY)
    defaults = {p.name: p.default for p in parameters.values() if p.default is not kinds.empty}
    return TagPlan(tags, None, signature, positional, defaults)


def tagged(stored: Any, versions: Mapping[str, str]) -> tuple[str, Any, dict[str, str]]:
    """The tag envelope of ``stored`` (a value, or a freshness envelope) recording ``versions``."""
    return (TAG_ENVELOPE, stored, dict(versions))


def recorded_tags(stored: Any) -> list[str] | None:
    """The tags a read tag envelope recorded, or ``None`` if ``stored`` is none."""
    if type(stored) is not tuple or len(stored) != 3 or stored[0] != TAG_ENVELOPE or type(stored[2]) is not dict:
        return None
    return list(stored[2])


def untagged(stored: Any, current: Mapping[str, str]) -> Any:
    """What the tag envelope ``stored`` holds if its recorded versions are ``current``, else ``MISSING``.

    Anything but a tag envelope (an entry an untagged function stored) is ``MISSING`` too.
    """
    if type(stored) is not tuple or len(stored) != 3 or stored[0] != TAG_ENVELOPE:
        return MISSING
    return stored[1] if stored[2] == current else MISSING
