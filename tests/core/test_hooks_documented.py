"""Every hook spec is documented in docs/plugins.md (with an example) and has a test of its own.

Datasette-style: adding a hook to ``VetraiSpecs`` without documenting it and testing it fails
here. "Tested" means some test function under tests/ has the hook's name in its own name
(tests/conformance/test_hooks.py holds one per hook).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from vetrai.core.hooks import PROJECT, VetraiSpecs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugins.md"
HOOKS = sorted(
    name
    for name in dir(VetraiSpecs)
    if name.startswith("vetrai_") and hasattr(getattr(VetraiSpecs, name), f"{PROJECT}_spec")
)


def test_the_spec_list_is_not_empty():
    assert "vetrai_plugin_info" in HOOKS and len(HOOKS) >= 10


def doc_sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### `(vetrai_[a-z_]+)", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def spec_arguments(hook: str) -> list[str]:
    return [name for name in inspect.signature(getattr(VetraiSpecs, hook)).parameters if name != "self"]


def all_test_functions() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.joinpath("tests").rglob("test_*.py"), *ROOT.glob("examples/*/tests/test_*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring(hook):
    assert (getattr(VetraiSpecs, hook).__doc__ or "").strip(), f"{hook} in core/hooks.py needs a docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_an_example(hook):
    sections = doc_sections()
    assert hook in sections, f"docs/plugins.md needs a '### `{hook}(...)`' section"
    section = sections[hook]
    assert "```python" in section and re.search(rf"def {hook}\(", section), (
        f"the {hook} section needs a python example defining it"
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_documented_arguments_match_the_spec(hook):
    heading = re.match(r"\(([^)]*)\)", doc_sections().get(hook, ""))
    assert heading, f"docs/plugins.md: the '### `{hook}(...)`' heading needs its argument list"
    documented = [arg.strip() for arg in heading.group(1).split(",") if arg.strip()]
    assert documented == spec_arguments(hook), f"docs/plugins.md lists {hook}({', '.join(documented)})"


@pytest.mark.parametrize("hook", HOOKS)
def test_documented_examples_take_only_spec_arguments(hook):
    """pluggy lets an implementation take a subset of the arguments, never another name."""
    section = doc_sections().get(hook, "")
    for match in re.finditer(rf"def {hook}\(([^)]*)\)", section):
        names = [part.split(":")[0].strip() for part in match.group(1).split(",") if part.strip()]
        assert set(names) <= set(spec_arguments(hook)), f"the {hook} example takes {names}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    tests = all_test_functions()
    named = sorted(name for name in tests if hook in name)
    assert named, f"no test function named after {hook} (add one to tests/conformance/test_hooks.py)"


def test_documentation_names_no_hook_that_does_not_exist():
    assert set(doc_sections()) <= set(HOOKS), (
        f"docs/plugins.md documents unknown hooks: {sorted(set(doc_sections()) - set(HOOKS))}"
    )
