"""The architecture, kept by a machine: every import under `pipeline/` (those inside functions
too) goes to the same layer or a lower one, and no module imports itself back."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pipeline

PACKAGE = Path(pipeline.__file__).parent


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every pipeline module PATH imports, at any depth of the code."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("pipeline"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline" or node.module.startswith("pipeline."):
                # `from pipeline.x import y` imports module pipeline.x.y, or a name of pipeline.x
                yield from (f"{node.module}.{a.name}" for a in node.names)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in imports_of(path):
            targets.add(target if target in modules else target.rsplit(".", 1)[0])
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int:
    """The position of MODULE's layer in `pipeline.LAYERS` (0 is the top)."""
    for position, layer in enumerate(pipeline.LAYERS):
        for member in layer.split("|"):
            member = member.strip()
            if module == member or module.startswith(member + "."):
                return position
    raise AssertionError(f"{module} is in no layer of pipeline.LAYERS")


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        if module == "pipeline":
            continue
        for target in sorted(targets):
            if target == "pipeline":
                continue
            if layer_of(target) < layer_of(module):
                found.append(f"{module} imports {target}, a higher layer")
            elif layer_of(target) == layer_of(module) and _top(module) != _top(target):
                found.append(f"{module} imports {target}, a sibling layer")
    return found


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """The import graph of the package, read once for the tests of this module."""
    return import_graph()


def test_no_import_cycle_counting_imports_inside_functions(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_every_import_goes_down_the_layers(graph: dict[str, set[str]]) -> None:
    assert layer_violations(graph) == []


def test_every_module_is_in_a_layer(graph: dict[str, set[str]]) -> None:
    for module in graph:
        if module != "pipeline":
            layer_of(module)


def test_the_package_docstring_lists_the_layers_in_order() -> None:
    doc = pipeline.__doc__ or ""
    positions = [doc.find(f"`{layer}`") for layer in pipeline.LAYERS]
    assert -1 not in positions, "each layer of pipeline.LAYERS is named in the docstring"
    assert positions == sorted(positions)


def test_every_subpackage_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        assert (ast.get_docstring(ast.parse(init.read_text())) or "").strip(), init


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "a.py").write_text("from pipeline.core.b import f\n")
    (package / "core" / "b.py").write_text("def f():\n    from pipeline.core import a\n")
    assert cycles(import_graph(package)) == [["pipeline.core.a", "pipeline.core.b"]]


def test_the_checker_finds_an_import_upward() -> None:
    graph = {"pipeline.core.files": {"pipeline.release.publish"}, "pipeline.release.publish": set()}
    assert layer_violations(graph) == [
        "pipeline.core.files imports pipeline.release.publish, a higher layer"
    ]


def test_the_readme_names_every_module_in_its_layer() -> None:
    """The README's table of layers lists every module, in the row of its own layer."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line
        for line in readme[readme.index("| layer | owns |") :].split("\n\n")[0].splitlines()[2:]
    }
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if path.name in ("__init__.py", "__main__.py"):
            continue
        if len(path.relative_to(PACKAGE).parts) == 1:
            if not any(f"`{relative}`" in key for key in rows):
                missing.append(relative)
            continue
        folder = f"`{path.parent.relative_to(PACKAGE.parent).as_posix()}/`"
        row = next((line for key, line in rows.items() if folder in key), "")
        if f"`{path.stem}`" not in row:
            missing.append(relative)
    assert missing == []


# --- no memory between calls ----------------------------------------------------------------------

# Calls that change the object they are called on.
MUTATORS = frozenset(
    {
        "add",
        "append",
        "appendleft",
        "clear",
        "discard",
        "extend",
        "insert",
        "keep",
        "pop",
        "popitem",
        "put",
        "remove",
        "setdefault",
        "update",
        "__setitem__",
    }
)
LOOKUPS = frozenset({"get", "pop", "setdefault", "keep", "__contains__", "__getitem__"})
MEMOISERS = frozenset({"cache", "lru_cache"})
# Module-level state that changes of issue 20 under way in other modules remove: each entry goes
# when the change to its module lands.
PENDING = {
    "pipeline/release/verify.py": {"_FOUND_VALID"},
    "pipeline/upstream/readers.py": {"_EXTRACTS"},
}

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _own_nodes(scope: Function | ast.Module) -> Iterator[ast.AST]:
    """The nodes of SCOPE's own body: a function or class defined inside it is a scope of its
    own."""
    stack: list[ast.AST] = list(scope.body)
    while stack:
        node = stack.pop()
        if isinstance(node, Function | ast.Lambda | ast.ClassDef):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _locals(function: Function) -> set[str]:
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared: set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    return names - declared


def _filled(node: ast.AST) -> ast.expr | None:
    """The object NODE changes: `x[k] = v`, `del x[k]`, `x.a = v`, `x.append(v)`..."""
    if isinstance(node, ast.Subscript | ast.Attribute) and isinstance(
        node.ctx, ast.Store | ast.Del
    ):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in MUTATORS:
            return node.func.value
    return None


def _looked_up(node: ast.AST) -> tuple[ast.expr, ast.expr] | None:
    """(container, key) of a look-up or a store by key: `x[k]`, `x.get(k)`, `k in x`..."""
    if isinstance(node, ast.Subscript):
        return node.value, node.slice
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr in LOOKUPS:
            return node.func.value, node.args[0]
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
        return node.comparators[0], node.left
    return None


def _names_id(key: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "id" for n in ast.walk(key))


def _memoiser(decorator: ast.expr) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name if name in MEMOISERS else None


def kept_state(source: str) -> list[tuple[int, str]]:
    """What a module's code keeps from one call to the next, as (line, what): a module-level
    name (a dict, a list, a set, a memo object...) that a function changes, a function memoised
    by functools.cache or lru_cache, a `global`, and a look-up keyed by object identity (`id`)
    in anything but a function's own local container."""
    tree = ast.parse(source)
    module = {
        node.id
        for node in _own_nodes(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    found: list[tuple[int, str]] = []
    for function in (n for n in ast.walk(tree) if isinstance(n, Function)):
        for decorator in function.decorator_list:
            if (memoiser := _memoiser(decorator)) is not None:
                found.append((function.lineno, f"{function.name} is memoised by {memoiser}"))
        local = _locals(function)
        for node in _own_nodes(function):
            if isinstance(node, ast.Global):
                found.append((node.lineno, f"{function.name} declares global {node.names}"))
            filled = _filled(node)
            if isinstance(filled, ast.Name) and filled.id in module and filled.id not in local:
                found.append((node.lineno, f"{function.name} changes module-level {filled.id}"))
            looked = _looked_up(node)
            if looked is not None and _names_id(looked[1]):
                container = looked[0]
                if not (isinstance(container, ast.Name) and container.id not in module):
                    shown = ast.unparse(container)
                    found.append((node.lineno, f"{function.name} keys {shown} by identity"))
    return sorted(set(found))


def test_no_module_keeps_memory_between_calls() -> None:
    """A command loads and validates once and passes the values along: no module-level
    container a function fills, no memoised function, no memo keyed by object identity."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        pending = PENDING.get(relative, set())
        for line, what in kept_state(path.read_text(encoding="utf-8")):
            if not any(what.endswith(f" {name}") for name in pending):
                found.append(f"{relative}:{line}: {what}")
    assert found == []


def test_the_state_checker_finds_each_kind_and_passes_what_one_call_keeps() -> None:
    source = """
import functools
from functools import cached_property, lru_cache

_SEEN: dict[str, int] = {}
_LIST = []
_MEMO = Memo()
LIMIT = 3


@functools.cache
def cached() -> int:
    return 1


@lru_cache(maxsize=8)
def bounded() -> int:
    return 2


def fills(key: str) -> None:
    _SEEN[key] = 1
    _LIST.append(key)
    _MEMO.keep(key, 1)


def shadows(key: str) -> int:
    _SEEN = {}
    _SEEN[key] = LIMIT
    return len(_SEEN)


def counts() -> None:
    global LIMIT
    LIMIT += 1


class Memo:
    def __init__(self) -> None:
        self._found = {}

    def keep(self, item: object, value: int) -> None:
        self._found[id(item)] = value

    @cached_property
    def size(self) -> int:
        return len(self._found)


def one_call(items: list[object]) -> int:
    seen: dict[int, int] = {}
    for item in items:
        seen[id(item)] = seen.get(id(item), 0) + 1

    def read(cell: str) -> int:
        seen[hash(cell)] = 1
        return seen[hash(cell)]

    return read("x")
"""
    assert [what for _, what in kept_state(source)] == [
        "cached is memoised by cache",
        "bounded is memoised by lru_cache",
        "fills changes module-level _SEEN",
        "fills changes module-level _LIST",
        "fills changes module-level _MEMO",
        "counts declares global ['LIMIT']",
        "keep keys self._found by identity",
    ]
