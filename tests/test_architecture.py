"""The house limits of issue 22, measured on the source with ``ast``: modules of at most 600 lines,
functions of at most 60 lines and 8 parameters (``self``/``cls``, ``*args`` and ``**kwargs`` not
counted), no import circles between files (a package's ``__init__`` counts as a file; imports
inside functions and under ``TYPE_CHECKING`` count too), and no module below the NEURON driver
importing ``nmlhub.neuron`` (docs/architecture.md draws the layers).

``ALLOWED`` lists findings tolerated for a while (empty since issue 22 landed); the test fails on any
finding not listed, and on any listed finding that no longer occurs, so the list only shrinks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 8
#: Modules that may import the NEURON driver: the driver itself and the layers above it.
ABOVE_DRIVER = ("nmlhub.neuron", "nmlhub.batch", "nmlhub.omv", "nmlhub.cli")

ALLOWED: set[str] = set()  # every finding of issue 22 is gone; keep it that way


@dataclass(frozen=True)
class Finding:
    """One breach of a house limit: ``key`` is what ``ALLOWED`` lists, ``detail`` the measure."""

    key: str
    detail: str


def _source_files() -> list[Path]:
    return sorted([*(ROOT / "nmlhub").rglob("*.py"), *(ROOT / "converters").rglob("*.py")])


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with its dotted name inside classes and functions (``Class.method``)."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((prefix + node.name, node))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        else:
            found += _functions(node, prefix)
    return found


def _parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = function.args
    count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
    positional = args.posonlyargs + args.args
    if positional and positional[0].arg in ("self", "cls"):
        count -= 1
    return count


def _size_findings(path: Path, text: str, tree: ast.AST) -> list[Finding]:
    where = path.relative_to(ROOT).as_posix()
    found = []
    lines = text.count("\n")
    if lines > MAX_MODULE_LINES:
        found.append(Finding(f"MODULE {where}", f"{lines} lines"))
    for name, function in _functions(tree):
        length = function.end_lineno - function.lineno + 1
        if length > MAX_FUNCTION_LINES:
            found.append(Finding(f"FUNC {where}:{name}", f"{length} lines, line {function.lineno}"))
        count = _parameter_count(function)
        if count > MAX_PARAMETERS:
            found.append(Finding(f"PARAMS {where}:{name}", f"{count} parameters, line {function.lineno}"))
    return found


def _imported(module: str, is_package: bool, tree: ast.AST, modules: set[str]) -> set[str]:
    """The project modules ``module`` imports (anywhere in the file)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[:len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c in modules and c != module}
    return found


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _above_driver(module: str) -> bool:
    return module == "nmlhub" or any(module == p or module.startswith(p + ".") for p in ABOVE_DRIVER)


def house_findings() -> dict[str, Finding]:
    """Every breach of the house limits in ``nmlhub/`` and ``converters/``, by key."""
    parsed = {}
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        parsed[_module_name(path)] = (path, text, ast.parse(text, filename=str(path)))
    findings = [f for path, text, tree in parsed.values() for f in _size_findings(path, text, tree)]
    names = set(parsed)
    edges = {m: _imported(m, p.name == "__init__.py", tree, names) for m, (p, _, tree) in parsed.items()}
    findings += [Finding("CIRCLE " + " ".join(group), "modules that import one another")
                 for group in _circles(edges)]
    for module, targets in edges.items():
        if _above_driver(module):
            continue
        findings += [Finding(f"UPWARD {module} -> {target}", "below the driver, imports it")
                     for target in sorted(targets) if target == "nmlhub.neuron" or target.startswith("nmlhub.neuron.")]
    return {f.key: f for f in findings}


def test_the_house_limits_hold_apart_from_the_allow_list():
    findings = house_findings()
    new = sorted(set(findings) - ALLOWED)
    assert not new, "house limits exceeded:\n" + "\n".join(f"{k} ({findings[k].detail})" for k in new)


def test_every_allowed_finding_still_occurs():
    """An entry whose finding is gone must leave the list (so the list cannot go stale)."""
    gone = sorted(ALLOWED - set(house_findings()))
    assert not gone, "no longer found; remove from ALLOWED:\n" + "\n".join(gone)


def test_the_measures_catch_what_they_measure(tmp_path):
    """The measures on a known source: a long function, a wide one (self not counted), a method
    named with its class, and a circle of two modules."""
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = (f"def long():\n{body}\n\n"
              "class K:\n    def wide(self, a, b, c, d, e, f, g, h, i):\n        pass\n\n"
              "def fine(self, a, b, c, d, e, f, g, h):\n    pass\n")
    path = ROOT / "nmlhub" / "example.py"
    found = {f.key for f in _size_findings(path, source, ast.parse(source))}
    assert found == {"FUNC nmlhub/example.py:long", "PARAMS nmlhub/example.py:K.wide"}
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"d"}}
    assert _circles(edges) == [["a", "b"]]
    tree = ast.parse("from . import data\nfrom ..results import Results\nimport nmlhub.neuron.mpi\n")
    modules = {"nmlhub.lfp", "nmlhub.lfp.data", "nmlhub.results", "nmlhub.neuron.mpi"}
    assert _imported("nmlhub.lfp.files", False, tree, modules) == {
        "nmlhub.lfp", "nmlhub.lfp.data", "nmlhub.results", "nmlhub.neuron.mpi"}
