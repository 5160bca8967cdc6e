"""The layout keeps the rules of the house (issue 13 §3): no import cycles, a typed runtime,
providers that only translate, and a provider is one folder plus one registry line."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import atende
from atende.channels import registry
from atende.runtime import Runtime

SRC = Path(atende.__file__).resolve().parent
PROVIDER_PACKAGES = ("kolmeya", "whatsapp_cloud", "messenger", "instagram", "sandbox", "history")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the atende modules it imports, anywhere in the file (functions and TYPE_CHECKING
    blocks too: a cycle hidden in either is still a cycle of the design)."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    head = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(head + ([node.module] if node.module else []))
                # `from pkg import sub` imports the submodule; `from mod import name`, the module.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                module = known(target) if target.startswith("atende") else None
                if module and module != name:
                    graph[name].add(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100 and "atende.actions.ingest" in graph["atende.jobs.polling"]  # the walk sees imports
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_runtime_is_typed() -> None:
    hints = typing.get_type_hints(Runtime)
    untyped = [f.name for f in dataclasses.fields(Runtime) if hints[f.name] is typing.Any]
    assert untyped == []
    names = {f.name for f in dataclasses.fields(Runtime)}
    assert {"media_store", "pacer"} <= names
    assert not names & {"send_limiter", "fetch_media_hook", "provider_event_hook", "media_ref_for_send"}


def test_providers_only_translate() -> None:
    """A provider package never reaches the database, the actions or the jobs (design.md rule 2)."""
    graph = import_graph()
    forbidden = ("atende.db", "atende.actions", "atende.jobs", "atende.web", "atende.runtime")
    for name, imported in graph.items():
        if name.startswith("atende.channels.") and not name.startswith("atende.channels.registry"):
            wrong = sorted(m for m in imported if m.startswith(forbidden))
            assert wrong == [], (name, wrong)


def test_a_provider_is_one_folder_and_one_registry_line() -> None:
    graph = import_graph()
    folders = {p.parent.name for p in (SRC / "channels").glob("*/provider.py")}
    assert folders == set(PROVIDER_PACKAGES) == set(registry.provider_names())
    for name, imported in graph.items():
        inside = name.startswith(("atende.channels.", "atende.testing."))
        reached = sorted(m for m in imported if any(m.startswith(f"atende.channels.{p}") for p in PROVIDER_PACKAGES))
        if not inside:  # the engine knows providers only through the registry and channels.base
            assert reached == [], (name, reached)


def test_capabilities_describe_the_optional_abilities() -> None:
    """A provider says what it can do in its Capabilities, and has the methods it says it has."""
    from atende.channels.base import MediaFetcher, MediaUploader, Poller, ProfileFetcher, ReadMarker, TemplateLister

    pairs = (("fetch_media", MediaFetcher), ("upload_media", MediaUploader), ("profiles", ProfileFetcher),
             ("read_receipts", ReadMarker), ("polling", Poller), ("templates", TemplateLister))
    for name in registry.provider_names():
        cls = registry.provider_type(name)
        for flag, protocol in pairs:
            has = all(callable(getattr(cls, method, None)) for method in protocol.__dict__
                      if not method.startswith("_") and callable(getattr(protocol, method, None)))
            assert getattr(cls.capabilities, flag) == has, (name, flag)
        assert cls.label, name  # shown in the settings by its own declaration (and its form_fields)
