"""``vetrai startplugin NAME`` and ``vetrai startworkflow NAME``: new installable packages.

The templates (``entrypoints/scaffold-templates``) are copies of the shapes of examples/vetrai-plugin-hello
and examples/vetrai-workflows-demo, with the conformance kit wired in, so the new package's own
``pytest`` passes right after ``pip install -e ".[test]"``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from string import Template

import click

from vetrai import __version__

TEMPLATES = Path(__file__).parent / "scaffold-templates"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


def _check_name(name: str, group: str) -> None:
    if not NAME.match(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise click.BadParameter(
            "use 2 to 31 lowercase letters, digits or underscores, starting with a letter", param_hint="NAME"
        )
    taken = {ep.name for ep in entry_points(group=group)} | ({"core"} if group == "vetrai.plugins" else set())
    if name in taken:
        raise click.BadParameter(f"{name!r} is already installed in {group}: choose another name", param_hint="NAME")


def render(kind: str, target: Path, values: dict[str, str]) -> list[Path]:
    """Copy ``scaffold-templates/<kind>`` to ``target``, substituting ``${...}`` in paths and contents."""
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} exists and is not empty")
    written = []
    source = TEMPLATES / kind
    for template in sorted(source.rglob("*.tmpl")):
        relative = Template(str(template.relative_to(source))[: -len(".tmpl")]).substitute(values)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template.read_text()).substitute(values))
        written.append(path)
    return written


def _values(name: str, package: str, dist: str, env: str) -> dict[str, str]:
    return {
        "name": name,
        "Name": "".join(part.capitalize() for part in name.split("_")),
        "package": package,
        "dist": dist,
        "env": env,
        "vetrai_version": __version__,
    }


def _name_and_directory(kind: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The NAME argument and the --directory option of a ``start<kind>`` command."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        option = click.option(
            "--directory", type=click.Path(path_type=Path), default=None, help=f"Where (default ./vetrai-{kind}-NAME)."
        )
        return click.argument("name")(option(command))

    return decorate


def _scaffold(kind: str, name: str, directory: Path | None, group: str, package: str, env_prefix: str) -> None:
    _check_name(name, group)
    dist = f"vetrai-{kind}-{name.replace('_', '-')}"
    target = directory or Path(dist)
    render(f"{kind}-package", target, _values(name, package, dist, env_prefix))
    click.echo(f"created {kind} {name!r} in {target}", err=True)
    click.echo(f'next: cd {target} && pip install -e ".[test]" && pytest', err=True)


@click.command("startplugin")
@_name_and_directory("plugin")
def startplugin(name: str, directory: Path | None) -> None:
    """Scaffold an installable plugin NAME: model, migration, routes, permissions, settings, tests."""
    _scaffold("plugin", name, directory, "vetrai.plugins", f"vetrai_{name}", f"VETRAI_{name.upper()}_")


@click.command("startworkflow")
@_name_and_directory("workflow")
def startworkflow(name: str, directory: Path | None) -> None:
    """Scaffold an installable workflow-template package NAME: a LangGraph graph, its spec, tests."""
    _scaffold("workflow", name, directory, "vetrai.workflows", f"vetrai_workflow_{name}", "")
