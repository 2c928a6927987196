"""``vetrai startplugin NAME`` and ``vetrai startworkflow NAME``: new installable packages.

The templates (``entrypoints/scaffold-templates``) are copies of the shapes of examples/vetrai-plugin-hello
and examples/vetrai-workflows-demo, with the conformance kit wired in, so the new package's own
``pytest`` passes right after ``pip install -e ".[test]"``.
"""

from __future__ import annotations

import keyword
import re
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


def _done(target: Path, what: str) -> None:
    click.echo(f"created {what} in {target}", err=True)
    click.echo(f'next: cd {target} && pip install -e ".[test]" && pytest', err=True)


@click.command("startplugin")
@click.argument("name")
@click.option(
    "--directory", type=click.Path(path_type=Path), default=None, help="Where (default ./vetrai-plugin-NAME)."
)
def startplugin(name: str, directory: Path | None) -> None:
    """Scaffold an installable plugin NAME: model, migration, routes, permissions, settings, tests."""
    _check_name(name, "vetrai.plugins")
    dist = f"vetrai-plugin-{name.replace('_', '-')}"
    target = directory or Path(dist)
    render("plugin-package", target, _values(name, f"vetrai_{name}", dist, f"VETRAI_{name.upper()}_"))
    _done(target, f"plugin {name!r}")


@click.command("startworkflow")
@click.argument("name")
@click.option(
    "--directory", type=click.Path(path_type=Path), default=None, help="Where (default ./vetrai-workflow-NAME)."
)
def startworkflow(name: str, directory: Path | None) -> None:
    """Scaffold an installable workflow-template package NAME: a LangGraph graph, its spec, tests."""
    _check_name(name, "vetrai.workflows")
    dist = f"vetrai-workflow-{name.replace('_', '-')}"
    target = directory or Path(dist)
    render("workflow-package", target, _values(name, f"vetrai_workflow_{name}", dist, ""))
    _done(target, f"workflow {name!r}")
