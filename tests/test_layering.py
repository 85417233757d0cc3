"""The package's layering, read from the source with ``ast`` (nothing here imports a model).

Models sit below the trainer, the explainers and the CLI: those read models, so a model must
not import them. Modules do not import each other in a circle, not even from inside a
function, where a circle hides until the function runs. And every optional hook the code looks
up on a model is declared in ``nnzoo.models._hooks``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "nnzoo"
UPPER_LAYERS = ("nnzoo.train", "nnzoo.explain", "nnzoo.cli")

# Functions whose imports are not dependencies of their module's own code: the registry's
# loader imports every model module so that they register themselves.
LOADERS = {("nnzoo.registry", "_load_all")}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the nnzoo module imported
    names: tuple[str, ...]  # (a,) for ``from X import a``; () for ``import X``
    function: str | None  # the outermost function the import is in; None at module level
    line: int

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else ""
        return f"{self.source}:{self.line}{where} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(base: str, name: str | None = None) -> str | None:
    """The nnzoo module that ``import base`` or ``from base import name`` imports: the
    submodule ``base.name`` when there is one, else ``base``; None outside nnzoo (or for a
    module that does not exist, which other tests catch)."""
    if name is not None and f"{base}.{name}" in MODULES:
        return f"{base}.{name}"
    return base if base in MODULES else None


def imports_of(name: str) -> list[Import]:
    """Every import of an nnzoo module in module ``name``, at module level or in a function."""
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = resolve(alias.name)
                    if target:
                        found.append(Import(name, target, (), function, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importing module's package
                    package = name if is_package(name) else name.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                for alias in child.names:
                    target = resolve(base, alias.name)
                    if target:
                        found.append(Import(name, target, (alias.name,), function, child.lineno))
            is_function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, function or (getattr(child, "name", "<lambda>") if is_function else None))

    visit(ast.parse(MODULES[name].read_text(encoding="utf-8")), None)
    return found


ALL_IMPORTS = [i for name in MODULES for i in imports_of(name)]


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


# ---- models import nothing above them --------------------------------------------------------

def test_models_import_neither_the_trainer_nor_the_explainers_nor_the_cli():
    wrong = [str(i) for i in ALL_IMPORTS
             if in_layer(i.source, "nnzoo.models")
             and any(in_layer(i.target, layer) for layer in UPPER_LAYERS)]
    assert not wrong, "models must not import nnzoo.train / explain / cli:\n" + "\n".join(wrong)


# ---- no import circles -------------------------------------------------------------------------

def counts(i: Import) -> bool:
    """Whether an import is a dependency that can close a circle.

    Left out: a package's imports of its own submodules from inside a function (``nnzoo``'s
    lazy ``__getattr__`` handing out ``nnzoo.fit``): they are the package's public face
    pointing at its parts, and counting them would put every module that calls
    ``nnzoo.create`` in a circle with the trainer. A package importing its submodules at module
    level still counts. Also left out: the registry's model loader (``LOADERS``).
    """
    if (i.source, i.function) in LOADERS:
        return False
    lazy_reexport = (i.function is not None and is_package(i.source)
                     and in_layer(i.target, i.source) and i.target != i.source)
    return not lazy_reexport


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of ``graph`` that hold a circle (two or more modules, or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_strongly_connected_finds_a_circle_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["e"]]


def test_no_import_circles_among_nnzoo_modules():
    edges = [i for i in ALL_IMPORTS if counts(i) and i.source != i.target]
    graph: dict[str, set[str]] = {}
    for i in edges:
        graph.setdefault(i.source, set()).add(i.target)
    circles = strongly_connected(graph)
    lines = [f"{sorted(c)}:\n  " + "\n  ".join(sorted({str(i) for i in edges
                                                      if i.source in c and i.target in c}))
             for c in circles]
    assert not circles, "import circles:\n" + "\n".join(lines)


def test_the_registry_imports_no_model_module():
    # It used to import nnzoo.models.sequence for the cell names; they live in
    # nnzoo.layers.cell_names now, and models import the registry to register themselves.
    wrong = [str(i) for i in ALL_IMPORTS
             if i.source == "nnzoo.registry" and in_layer(i.target, "nnzoo.models")
             and (i.source, i.function) not in LOADERS]
    assert not wrong, "\n".join(wrong)


def test_the_cell_table_is_torch_free_and_names_layers_that_exist():
    assert not [i for i in ALL_IMPORTS if i.source == "nnzoo.layers.cell_names"]
    source = MODULES["nnzoo.layers.cell_names"].read_text(encoding="utf-8")
    assert "torch" not in {n.split(".")[0] for node in ast.walk(ast.parse(source))
                           if isinstance(node, ast.Import) for n in (a.name for a in node.names)}
    import nnzoo.layers
    from nnzoo.layers.cell_names import CELL_ALIASES, CELLS

    for name, cell in CELLS.items():
        assert cell.layer in nnzoo.layers._LAZY, f"cell {name!r}: no layer {cell.layer}"
        assert isinstance(getattr(nnzoo.layers, cell.layer), type)
    assert set(CELL_ALIASES.values()) <= set(CELLS)


def test_the_lazy_layer_names_are_the_layers_modules_hold():
    # nnzoo.layers names its lazily loaded classes by hand (importing them would load torch).
    import importlib

    import nnzoo.layers

    for name, module in nnzoo.layers._LAZY.items():
        assert isinstance(getattr(importlib.import_module(f"nnzoo.layers.{module}"), name), type)


# ---- the hooks looked up on a model are declared ------------------------------------------------

MODEL_RECEIVERS = ("model", "self.model", "type(model)")


def looked_up(receivers: tuple[str, ...] | None) -> dict[str, list[str]]:
    """Names passed as a literal to getattr / hasattr in src/nnzoo, with where; only on
    ``receivers`` (as written in the source) unless None."""
    found: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2):
                continue
            receiver, attr = node.args[0], node.args[1]
            if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
                continue
            if receivers is None or ast.unparse(receiver) in receivers:
                found.setdefault(attr.value, []).append(f"{name}:{node.lineno}")
    return found


def declared_hooks() -> set[str]:
    from nnzoo.models import _hooks

    return {n for cls in (_hooks.ModelHooks, _hooks.LayerHooks)
            for n in (*vars(cls), *getattr(cls, "__annotations__", {})) if not n.startswith("_")}


def test_every_hook_looked_up_on_a_model_is_declared():
    missing = {name: where for name, where in looked_up(MODEL_RECEIVERS).items()
               if name not in declared_hooks() and not name.startswith("__")}
    assert not missing, f"declare these in nnzoo.models._hooks: {missing}"


def test_every_declared_hook_is_looked_up_somewhere():
    anywhere = looked_up(None)
    stale = sorted(name for name in declared_hooks() if name not in anywhere
                   and name != "noise_level")  # read directly, once ``noise`` is found set
    assert not stale, f"nothing looks these up; drop them from nnzoo.models._hooks: {stale}"


def test_the_hooks_module_needs_no_torch():
    tree = ast.parse(MODULES["nnzoo.models._hooks"].read_text(encoding="utf-8"))
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(getattr(n, "module", None) in ("__future__", "typing") for n in top_level)
