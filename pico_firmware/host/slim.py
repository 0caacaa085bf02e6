"""Microdot without the parts this firmware never calls, for the board's heap.

Every function of a module loaded from .mpy costs heap for as long as the module lives
(its bytecode, its function object, its name), whether it is ever called or not; deleting a
method after import frees almost nothing. So the board gets Microdot's own source less the
definitions below, parsed and re-emitted with `ast` (nothing of Microdot is copied into
this repository). Measured on the Unix port: Microdot's heap cost 26 KB -> 8 KB.

What is dropped is what the firmware's HTTP edge (tfa.http) replaces or never reaches:
Microdot's own server loop, request reader and response writer (tfa.http.App reads
requests and writes answers, tfa.server accepts connections), its route decorators and URL
patterns (tfa.http fills url_map with exact paths), its error handlers (App.error_response
answers them), query strings (App hands Microdot the path without one), cookies, files,
forms, redirects, sub-applications, before/after-request hooks, the attributes only those
read, and CPython-only import fallbacks. What dispatch runs stays: find_route over url_map,
dispatch_request with its exception lookup (mro), Request, Response, NoCaseDict.
"""

from __future__ import annotations

import ast
from pathlib import Path

# class name (None: the module) -> names defined there that the board never uses
DROP: dict[str | None, frozenset[str]] = {
    None: frozenset(
        {
            "AsyncBytesIO",
            "urlencode",
            "abort",
            "redirect",
            "send_file",
            "URLPattern",  # tfa.http routes by exact path: no pattern to compile
            "MUTED_SOCKET_ERRORS",  # read only by the dropped writers
            "MultiDict",  # query strings: tfa.http hands Microdot the path without one
            "urldecode",
            "Response.already_handled",  # a Response made at import, for the dropped server
        }
    ),
    "Microdot": frozenset(
        {
            "put",
            "patch",
            "delete",
            "query",
            "before_request",
            "after_request",
            "after_error_request",
            "mount",
            "abort",
            "start_server",
            "run",
            "shutdown",
            "handle_request",
            "route",  # tfa.http fills url_map itself (exact paths)
            "get",
            "post",
            "errorhandler",  # tfa.http.App answers errors itself (error_response) ...
            "error_response",
            "default_options_handler",  # ... OPTIONS included (405, as for any wrong method)
        }
    ),
    "Request": frozenset(
        {
            "create",
            "_safe_readline",
            "stream",
            "json",
            "form",
            "files",
            "after_request",
            "max_readline",
            "max_body_length",
            "_parse_urlencoded",
        }
    ),
    "Response": frozenset(
        {
            "set_cookie",
            "delete_cookie",
            "redirect",
            "send_file",
            "types_map",
            "default_send_file_max_age",
            "complete",  # tfa.http.App writes the answer itself, in one piece
            "write",
            "body_iter",
            "send_file_buffer_size",
            "default_content_type",
            "already_handled",
        }
    ),
    # a Response's headers are only set (Content-Type) and iterated (tfa.http writes them)
    "NoCaseDict": frozenset({"update", "__getitem__", "__delitem__", "__contains__", "get"}),
    "HTTPException": frozenset({"__init__", "__repr__"}),  # only abort() made one
}


# class -> attributes its methods set that only dropped members read (each name is heap)
DROP_SELF: dict[str, frozenset[str]] = {
    "Request": frozenset({"_json", "_form", "_files", "_stream"}),
    "Microdot": frozenset({"options_handler", "ssl", "debug", "server"}),  # App sets the first
}

# Microdot tries CPython's modules first (`try: import orjson ... except ImportError:`):
# on MicroPython only one branch can run, and the other's names would still be loaded.
ABSENT = frozenset({"orjson", "inspect"})  # not on MicroPython: keep the except branch
PRESENT = frozenset({"sys"})  # on MicroPython: keep the try branch


class SlimError(Exception):
    """Microdot's source no longer has a definition we meant to drop (a new version)."""


def _defined(node: ast.stmt) -> set[str]:
    """Names a statement defines: `name` for def, class and `name = ...`, and "Class.attr" for
    `Class.attr = ...`."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {
            f"{t.value.id}.{t.attr}" if isinstance(t, ast.Attribute) else t.id
            for t in node.targets
            if isinstance(t, ast.Name)
            or (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name))
        }
    return set()


def _strip(body: list[ast.stmt], drop: frozenset[str], where: str) -> list[ast.stmt]:
    kept = [n for n in body if not (_defined(n) and _defined(n) <= drop)]
    found: set[str] = set().union(*(_defined(n) for n in body))
    missing = drop - found
    if missing:
        raise SlimError(f"microdot {where} has no {', '.join(sorted(missing))}")
    return kept or [ast.Pass()]


def _sets_self(node: ast.stmt, names: frozenset[str]) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        t = node.targets[0]
        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
            return t.attr if t.attr in names else None
    return None


def _strip_self(cls: ast.ClassDef, names: frozenset[str]) -> None:
    found: set[str] = set()
    for method in cls.body:
        if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kept = []
            for node in method.body:
                attr = _sets_self(node, names)
                if attr is None:
                    kept.append(node)
                else:
                    found.add(attr)
            method.body = kept or [ast.Pass()]
    missing = names - found
    if missing:
        raise SlimError(f"microdot {cls.name} no longer sets {', '.join(sorted(missing))}")


def _no_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:] or [ast.Pass()]
    return body


def _imported_from(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ImportFrom):
        return node.module
    if isinstance(node, ast.Import):
        return node.names[0].name
    return None


def _micropython_branch(node: ast.stmt) -> list[ast.stmt]:
    """A module-level `try: import X ... except ImportError: ...` as MicroPython runs it."""
    if not isinstance(node, ast.Try) or not node.body:
        return [node]
    handlers = node.handlers
    if len(handlers) != 1 or not (
        isinstance(handlers[0].type, ast.Name) and handlers[0].type.id == "ImportError"
    ):
        return [node]
    module = _imported_from(node.body[0])
    if module in ABSENT:
        return handlers[0].body
    if module in PRESENT:
        return node.body
    raise SlimError(f"microdot tries to import {module}: add it to ABSENT or PRESENT")


def slim_microdot(source: str) -> str:
    """Microdot's source less the DROP definitions, the CPython-only import fallbacks and the
    docstrings, as Python source."""
    tree = ast.parse(source)
    tree.body = [n for node in tree.body for n in _micropython_branch(node)]
    tree.body = _strip(tree.body, DROP[None], "module")
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for name, drop in DROP.items():
        if name is None:
            continue
        if name not in classes:
            raise SlimError(f"microdot has no class {name}")
        classes[name].body = _strip(classes[name].body, drop, name)
    for name, attrs in DROP_SELF.items():
        _strip_self(classes[name], attrs)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = _no_docstring(node.body)
    return ast.unparse(tree) + "\n"


def write_slim_microdot(source: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(slim_microdot(source.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    """`python -m pico_firmware.host.slim SOURCE DEST`: write the slim Microdot (flash uses it)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m pico_firmware.host.slim MICRODOT_PY DEST_PY", file=sys.stderr)
        return 2
    try:
        write_slim_microdot(Path(args[0]), Path(args[1]))
    except (OSError, SyntaxError, SlimError) as exc:
        print(f"slim: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
