"""A Jinja sandbox for chat templates that come from untrusted model files.

A GGUF file can carry any Jinja text in ``tokenizer.chat_template``. We render it with
what real templates expect (the same environment as HF transformers'
``_compile_jinja_template``), but inside ``ImmutableSandboxedEnvironment`` hardened so
that a hostile template can neither reach Python internals nor hang the app or eat
its memory:

* unsafe attributes (``__class__``, ``_private``...) are refused outright instead of
  silently becoming undefined, so a template probing for an escape is reported;
* every attribute access, item access, call, intercepted operator, filter, loop
  iteration and string concatenation checks a per-render deadline, an iteration
  budget and a size budget (a Jinja template cannot loop or grow a value without
  passing through one of these hooks);
* ``range`` is bounded, numbers handed to builtin string methods are bounded, and
  operations that could build a huge string in one C call (``'a' * n``, ``~``,
  ``replace``, ``join``, ``%``/``format`` widths, ``tojson``) are estimated first;
* rendering runs in a daemon worker thread that the caller waits on with a timeout,
  as a last line of defence if some single operation still runs long.

Every failure surfaces as :class:`TemplateError` (or :class:`TemplateRefusedError`
for hostile or runaway templates) with a message that names the template.
"""

from __future__ import annotations

import functools
import json
import re
import string
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes as jnodes
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment, is_internal_attribute
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

__all__ = [
    "DEFAULT_LIMITS",
    "SandboxLimits",
    "TemplateError",
    "TemplateRefusedError",
    "compile_template",
    "create_environment",
    "render_compiled",
]


class TemplateError(Exception):
    """A chat template could not be compiled or rendered; the message names the template."""

    def __init__(self, message: str, *, template_name: str) -> None:
        super().__init__(message)
        self.template_name = template_name


class TemplateRefusedError(TemplateError):
    """The template did something a chat template never needs (escape attempt, runaway)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Bounds for one render. Real chat templates stay far below every one of them."""

    timeout_s: float = 2.0
    #: Extra wait for the worker thread beyond ``timeout_s`` before giving up on it.
    watchdog_grace_s: float = 0.5
    max_range: int = 100_000
    #: Total for-loop iterations in one render.
    max_iterations: int = 1_000_000
    #: Characters in the output, and in any single string/list the template builds.
    max_output_chars: int = 4 * 1024 * 1024
    max_call_depth: int = 64
    #: Largest integer passed to a builtin method or filter (widths, counts...).
    max_int_arg: int = 1_000_000
    #: Largest integer (in bits) that arithmetic may produce.
    max_int_bits: int = 100_000
    max_source_chars: int = 1_000_000


DEFAULT_LIMITS = SandboxLimits()


# --------------------------------------------------------------------------- budget


class _Refusal(BaseException):
    """Raised inside the sandbox; a BaseException so no filter's ``except Exception`` eats it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RaisedByTemplate(Exception):
    """``raise_exception(msg)`` from the template itself (e.g. roles must alternate)."""


class _NoFold(Exception):
    """Stops Jinja's compile-time constant folding from running guarded code."""


class _Budget:
    """Per-render deadline and counters, reachable from the hooks via a thread-local."""

    __slots__ = ("cancelled", "deadline", "depth", "iterations", "limits", "timeout_s")

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.timeout_s = limits.timeout_s
        self.deadline = time.monotonic() + limits.timeout_s
        self.iterations = 0
        self.depth = 0
        self.cancelled = False

    def tick(self) -> None:
        if self.cancelled or time.monotonic() > self.deadline:
            self.cancelled = True
            raise _Refusal(f"it ran longer than {self.timeout_s:g} seconds")


_state = threading.local()


def _current() -> _Budget | None:
    return getattr(_state, "budget", None)


def _tick() -> _Budget | None:
    budget = _current()
    if budget is not None:
        budget.tick()
    return budget


def _limits() -> SandboxLimits:
    budget = _current()
    return budget.limits if budget is not None else DEFAULT_LIMITS


def _too_big(what: str, size: int, limit: int) -> _Refusal:
    return _Refusal(f"it tried to build {what} of size {size:,} (the limit is {limit:,})")


def _estimate(obj: Any, limit: int) -> int:
    """Rough length of ``str(obj)`` / ``tojson(obj)``, stopping once it passes ``limit``.

    Walks containers without stringifying them, so a list holding the same 4 MiB string
    a thousand times is caught before anything joins it.
    """
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            total += 4
            for key, value in item.items():
                stack.append(key)
                stack.append(value)
                total += 2
                if total > limit:
                    return total
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            stack.extend(item)
        else:
            total += 16
        if total > limit:
            return total
    return total


def _check_size(value: Any, what: str = "a value") -> None:
    limit = _limits().max_output_chars
    size = _estimate(value, limit)
    if size > limit:
        raise _too_big(what, size, limit)


def _check_result(value: Any) -> Any:
    limit = _limits().max_output_chars
    if isinstance(value, str | list | tuple | dict) and len(value) > limit:
        raise _too_big("a string or list", len(value), limit)
    return value


def _check_int_args(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    cap = _limits().max_int_arg
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > cap:
            raise _Refusal(f"it passed the number {value:,} to a function (the limit is {cap:,})")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _percent_format_size(fmt: str) -> int:
    """Upper bound on the padding a ``%``-format string can add (widths, precisions)."""
    cap = _limits().max_int_arg
    extra = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        for group in match.groups():
            if group == "*":
                extra += cap
            elif group:
                extra += int(group) if len(group) < 12 else 10**12
    return extra


_BRACE_NUMBER = re.compile(r"\d+")


def _brace_format_size(fmt: str) -> int:
    """Upper bound on the padding a ``str.format`` string can add."""
    cap = _limits().max_int_arg
    extra = 0
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return 0  # str.format will raise the same error itself
    for _literal, _field, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            extra += cap * spec.count("{")
        for number in _BRACE_NUMBER.findall(spec):
            extra += int(number) if len(number) < 12 else 10**12
    return extra


def _check_formatting(fmt: str, padding: int, args: Any) -> None:
    limit = _limits().max_output_chars
    size = len(fmt) + padding + _estimate(args, limit)
    if size > limit:
        raise _too_big("a formatted string", size, limit)


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    occurrences = len(text) + 1 if old == "" else text.count(old)
    if count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * max(0, len(new) - len(old))


# --------------------------------------------------------------------------- globals


def _raise_exception(message: Any) -> None:
    raise _RaisedByTemplate(str(message))


def _strftime_now(fmt: str) -> str:
    fmt = str(fmt)
    if len(fmt) > 256:
        raise _Refusal("it passed an oversized date format to strftime_now")
    return datetime.now().strftime(fmt)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if not 0 <= n <= 100 or not 0 <= min <= 1000 or not 0 <= max <= 1000:
        raise _Refusal("it asked lipsum() for too much text")
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """HF transformers' ``tojson``: plain ``json.dumps`` (no HTML escaping), key order kept."""
    too_wide = indent is not None and (
        len(indent) > 64 if isinstance(indent, str) else not 0 <= int(indent) <= 64
    )
    if too_wide:
        raise _Refusal("it asked tojson for an oversized indent")
    _check_size(value, "a JSON text")
    return json.dumps(
        value,
        ensure_ascii=ensure_ascii,
        indent=indent,
        separators=separators,
        sort_keys=sort_keys,
    )


# --------------------------------------------------------------------------- filters

#: Filters that stringify their input first, so a huge container becomes a huge string.
_STRINGIFYING_FILTERS = frozenset(
    {"capitalize", "center", "e", "escape", "forceescape", "format", "indent", "join", "lower"}
    | {"pprint", "replace", "safe", "string", "striptags", "title", "trim", "truncate", "upper"}
    | {"urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"}
)
#: Pure-Python filters that are slow on long text; a chat template never feeds them megabytes.
_SLOW_TEXT_FILTERS = frozenset({"striptags", "urlize", "wordwrap", "title"})
_SLOW_TEXT_LIMIT = 256 * 1024

#: Filters whose integer arguments are sizes (widths, counts); other ints are plain data.
_SIZED_FILTERS = frozenset({"batch", "center", "indent", "slice", "truncate", "urlize", "wordwrap"})
_NESTED_FORMAT_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")

_ITER_GUARD = "hearth_guard_iter"
_CONCAT_GUARD = "hearth_guard_concat"


def _value_index(func: Callable[..., Any]) -> int:
    """Position of the filtered value: after context/eval_ctx/environment if passed."""
    return 1 if getattr(func, "jinja_pass_arg", None) is not None else 0


def _precheck_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name in _STRINGIFYING_FILTERS:
        _check_size(value)
        if name in _SLOW_TEXT_FILTERS and _estimate(value, _SLOW_TEXT_LIMIT) > _SLOW_TEXT_LIMIT:
            raise _Refusal(f"it fed the '{name}' filter more text than a chat template needs")
    limit = _limits().max_output_chars
    if name == "replace" and len(args) >= 2:
        text = str(value)
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        size = _replace_size(
            text, str(args[0]), str(args[1]), count if isinstance(count, int) else -1
        )
        if size > limit:
            raise _too_big("a string", size, limit)
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        if isinstance(width, str):
            lines = str(value).count("\n") + 1
            size = len(str(value)) + len(width) * lines
            if size > limit:
                raise _too_big("a string", size, limit)
    elif name == "join":
        separator = args[0] if args else kwargs.get("d", "")
        items = value if isinstance(value, list | tuple) else None
        if items is not None:
            size = _estimate(items, limit) + len(str(separator)) * len(items)
            if size > limit:
                raise _too_big("a string", size, limit)
    elif name == "format":
        _check_formatting(str(value), _percent_format_size(str(value)), (args, kwargs))


def _guard_filter(name: str, func: Any) -> Callable[..., Any]:
    index = _value_index(func)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _current() is None:
            raise _NoFold  # compile time: don't fold, run it under the budget later
        _tick()
        value = args[index] if len(args) > index else None
        rest = args[index + 1 :]
        if name in _SIZED_FILTERS or (name == "format" and "*" in str(value)):
            _check_int_args(rest, kwargs)
        _precheck_filter(name, value, rest, kwargs)
        return _check_result(func(*args, **kwargs))

    return guarded


def _guard_iter(value: Any) -> Iterator[Any]:
    """Wraps every ``{% for %}`` iterable: counts iterations and checks the deadline."""
    budget = _current()
    if budget is None:
        raise _NoFold
    return _guarded_items(value, budget)


def _guarded_items(value: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    for item in value:
        budget.iterations += 1
        if budget.iterations > budget.limits.max_iterations:
            raise _Refusal(f"it looped more than {budget.limits.max_iterations:,} times")
        budget.tick()
        yield item


def _guard_concat(parts: tuple[Any, ...]) -> str:
    """The ``~`` operator, sized before joining."""
    if _current() is None:
        raise _NoFold
    _tick()
    _check_size(parts, "a string")
    return "".join(map(str, parts))


class _GuardTransformer(NodeTransformer):
    """Routes every for-loop iterable and ``~`` concatenation through a guard filter."""

    def __init__(self, environment: jinja2.Environment) -> None:
        self.environment = environment

    def _filter(self, node: Any, name: str, lineno: int) -> jnodes.Filter:
        new = jnodes.Filter(node, name, [], [], None, None, lineno=lineno)
        new.set_environment(self.environment)
        return new

    def visit_For(self, node: jnodes.For) -> jnodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, jnodes.For)
        visited.iter = self._filter(visited.iter, _ITER_GUARD, visited.lineno)
        return visited

    def visit_Concat(self, node: jnodes.Concat) -> jnodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, jnodes.Concat)
        parts = jnodes.Tuple(list(visited.nodes), "load", lineno=visited.lineno)
        parts.set_environment(self.environment)
        return self._filter(parts, _CONCAT_GUARD, visited.lineno)


class _GenerationTag(jinja2.ext.Extension):
    """HF's ``{% generation %}...{% endgeneration %}`` marker (assistant masks): a no-op here."""

    tags = {"generation"}  # noqa: RUF012 (Jinja's API)

    def parse(self, parser: Parser) -> list[jnodes.Node]:
        next(parser.stream)
        return list(parser.parse_statements(("name:endgeneration",), drop_needle=True))


# --------------------------------------------------------------------------- environment


class HearthSandbox(ImmutableSandboxedEnvironment):
    """HF-compatible chat-template environment with hard limits (see module docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[jinja2.ext.loopcontrols, _GenerationTag],
            finalize=self._finalize,
            autoescape=False,
        )
        self.filters["tojson"] = _tojson
        self.filters = {
            name: _guard_filter(name, func) for name, func in list(self.filters.items())
        }
        self.filters[_ITER_GUARD] = _guard_iter
        self.filters[_CONCAT_GUARD] = _guard_concat
        self.tests = {name: _guard_filter(name, func) for name, func in self.tests.items()}
        self.globals.update(
            range=self._range,
            raise_exception=_raise_exception,
            strftime_now=_strftime_now,
            lipsum=_lipsum,
        )
        self.concat = self._concat  # type: ignore[method-assign]

    # Parsing: add the guards to every loop and concatenation.
    def _parse(self, source: str, name: str | None, filename: str | None) -> jnodes.Template:
        tree = super()._parse(source, name, filename)
        return _GuardTransformer(self).visit(tree)

    # Attribute and item access.
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return super().is_safe_attribute(obj, attr, value) and not attr.startswith("_")

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """Refuse instead of returning an undefined: probing for internals is never benign."""
        if not attribute.startswith("_") and not is_internal_attribute(obj, attribute):
            raise _Refusal(
                f"it tried to modify a value with '{attribute}' (templates are read-only)"
            )
        raise _Refusal(f"it tried to access an unsafe attribute '{attribute}'")

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        if isinstance(argument, str) and argument.startswith("_") and not isinstance(obj, Mapping):
            raise _Refusal(f"it tried to access an unsafe attribute '{argument}'")
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt: str = value.__self__
        inner = wrapper

        def guarded_format(*args: Any, **kwargs: Any) -> str:
            _tick()
            if _NESTED_FORMAT_SPEC.search(fmt):  # widths taken from the arguments
                _check_int_args(args, kwargs)
            _check_formatting(fmt, _brace_format_size(fmt), (args, kwargs))
            return inner(*args, **kwargs)

        return guarded_format

    # Calls: deadline, depth, bounded arguments to builtins, sized string methods.
    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _tick()
        if isinstance(obj, types.BuiltinFunctionType | types.MethodWrapperType):
            _check_int_args(args, kwargs)
            self._precheck_str_method(obj, args, kwargs)
        if budget is None:
            return super().call(context, obj, *args, **kwargs)
        budget.depth += 1
        try:
            if budget.depth > budget.limits.max_call_depth:
                raise _Refusal("its calls were nested too deeply (runaway recursion)")
            return _check_result(super().call(context, obj, *args, **kwargs))
        finally:
            budget.depth -= 1

    @staticmethod
    def _precheck_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        owner = getattr(obj, "__self__", None)
        if not isinstance(owner, str):
            return
        limit = _limits().max_output_chars
        name = getattr(obj, "__name__", "")
        size = 0
        if name == "join" and args and isinstance(args[0], list | tuple):
            size = _estimate(args[0], limit) + len(owner) * len(args[0])
        elif name == "replace" and len(args) >= 2:
            count = args[2] if len(args) > 2 else kwargs.get("count", -1)
            size = _replace_size(
                owner, str(args[0]), str(args[1]), count if isinstance(count, int) else -1
            )
        elif name == "expandtabs":
            tabsize = args[0] if args else kwargs.get("tabsize", 8)
            size = len(owner) + owner.count("\t") * (tabsize if isinstance(tabsize, int) else 8)
        if size > limit:
            raise _too_big("a string", size, limit)

    # Operators that can grow values.
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        limits = _limits()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    size = len(seq) * max(0, times)
                    if size > limits.max_output_chars:
                        raise _too_big("a string or list", size, limits.max_output_chars)
            if _plain_int(left) and _plain_int(right):
                bits = left.bit_length() + right.bit_length()
                if bits > limits.max_int_bits:
                    raise _Refusal("it computed a number too large to be useful")
        elif operator == "**":
            if (
                _plain_int(left)
                and _plain_int(right)
                and right > 0
                and abs(left) > 1
                and left.bit_length() * right > limits.max_int_bits
            ):
                raise _Refusal("it computed a number too large to be useful")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                size = len(left) + len(right)
                if size > limits.max_output_chars:
                    raise _too_big("a string or list", size, limits.max_output_chars)
        elif operator == "%" and isinstance(left, str):
            if "*" in left:  # widths taken from the arguments
                _check_int_args(right if isinstance(right, tuple) else (right,), {})
            _check_formatting(left, _percent_format_size(left), right)
        return super().call_binop(context, operator, left, right)

    # Builtins.
    def _range(self, *args: Any) -> range:
        _tick()
        result = range(*args)
        limit = _limits().max_range
        try:
            size = len(result)
        except OverflowError:
            size = limit + 1
        if size > limit:
            count = f"{size:,}" if size != limit + 1 else "astronomically many"
            raise _Refusal(f"it asked for a range of {count} items (the limit is {limit:,})")
        return result

    @staticmethod
    def _finalize(value: Any) -> Any:
        if not isinstance(value, str):
            _check_size(value, "an output value")
        return value

    @staticmethod
    def _concat(parts: Iterable[str]) -> str:
        """Joins captured output (macros, ``{% set %}`` blocks, ``{% filter %}``) with a cap."""
        budget = _current()
        limit = _limits().max_output_chars
        collected: list[str] = []
        total = 0
        for part in parts:
            total += len(part)
            if total > limit:
                raise _too_big("a block of output", total, limit)
            if budget is not None and len(collected) % 256 == 0:
                budget.tick()
            collected.append(part)
        return "".join(collected)


def _plain_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@functools.cache
def create_environment() -> HearthSandbox:
    """The shared environment (stateless apart from per-thread budgets, so shareable)."""
    return HearthSandbox()


# --------------------------------------------------------------------------- running


def _describe(exc: BaseException, template_name: str) -> TemplateError:
    prefix = f"The chat template of '{template_name}'"
    if isinstance(exc, TemplateError):
        return exc
    if isinstance(exc, _Refusal):
        return TemplateRefusedError(
            f"{prefix} was refused: {exc.reason}", template_name=template_name
        )
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateRefusedError(f"{prefix} was refused: {exc}", template_name=template_name)
    if isinstance(exc, _RaisedByTemplate):
        return TemplateError(
            f"{prefix} rejected the conversation: {exc}", template_name=template_name
        )
    if isinstance(exc, jinja2.exceptions.TemplateSyntaxError):
        return TemplateError(
            f"{prefix} has a syntax error on line {exc.lineno}: {exc.message}",
            template_name=template_name,
        )
    if isinstance(exc, RecursionError):
        return TemplateRefusedError(
            f"{prefix} was refused: it is nested too deeply", template_name=template_name
        )
    if isinstance(exc, MemoryError):
        return TemplateRefusedError(
            f"{prefix} was refused: it ran out of memory", template_name=template_name
        )
    detail = str(exc) or type(exc).__name__
    return TemplateError(f"{prefix} failed: {detail}", template_name=template_name)


def _run_bounded(work: Callable[[], Any], *, template_name: str, limits: SandboxLimits) -> Any:
    """Runs ``work`` in a daemon thread under a fresh budget; the caller waits with a timeout.

    The hooks stop a runaway render cooperatively at the deadline; the join timeout
    covers anything that still doesn't return (the thread is flagged and abandoned).
    """
    budget = _Budget(limits)
    outcome: dict[str, Any] = {}

    def target() -> None:
        _state.budget = budget
        try:
            outcome["value"] = work()
        except BaseException as exc:  # every failure is reported to the caller
            outcome["error"] = exc
        finally:
            _state.budget = None

    worker = threading.Thread(target=target, name="hearth-chat-template", daemon=True)
    worker.start()
    worker.join(limits.timeout_s + limits.watchdog_grace_s)
    if worker.is_alive():
        budget.cancelled = True
        raise TemplateRefusedError(
            f"The chat template of '{template_name}' was refused: "
            f"it ran longer than {limits.timeout_s:g} seconds",
            template_name=template_name,
        )
    if "error" in outcome:
        raise _describe(outcome["error"], template_name) from outcome["error"]
    return outcome["value"]


def compile_template(
    source: str, *, template_name: str, limits: SandboxLimits = DEFAULT_LIMITS
) -> jinja2.Template:
    """Compiles a chat template once; syntax errors and hostile constructs raise TemplateError."""
    if not isinstance(source, str):
        raise TemplateError(
            f"The chat template of '{template_name}' is not text", template_name=template_name
        )
    if len(source) > limits.max_source_chars:
        raise TemplateRefusedError(
            f"The chat template of '{template_name}' was refused: it is {len(source):,} "
            f"characters long (the limit is {limits.max_source_chars:,})",
            template_name=template_name,
        )
    env = create_environment()
    template: jinja2.Template = _run_bounded(
        lambda: env.from_string(source), template_name=template_name, limits=limits
    )
    return template


def render_compiled(
    template: jinja2.Template,
    context: Mapping[str, Any],
    *,
    template_name: str,
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> str:
    """Renders under the budget, streaming the output so its total length is capped too."""

    def work() -> str:
        budget = _current()
        chunks: list[str] = []
        total = 0
        for chunk in template.generate(dict(context)):
            total += len(chunk)
            if total > limits.max_output_chars:
                raise _Refusal(f"its output exceeded {limits.max_output_chars:,} characters")
            if budget is not None:
                budget.tick()
            chunks.append(chunk)
        return "".join(chunks)

    result: str = _run_bounded(work, template_name=template_name, limits=limits)
    return result
