"""``hqnn draw PROFILE``: the profile's quantum circuit as a diagram, with its specs, without loading data."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a profile key (repeatable).")
@click.option("--width", type=click.IntRange(min=40), help="Wrap the diagram to this many columns (default: the terminal's).")
@click.option("--figure", type=click.Path(dir_okay=False), help="Also save the diagram as an image (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True, help="Print the diagram and specs as JSON.")
def draw(profile: str, overrides: tuple[str, ...], width: int | None, figure: str | None, as_json: bool) -> None:
    """Draw PROFILE's circuit and list its specs: gates, depth, parameters, circuits per training step."""
    from hqnn_core.config import load_profile
    from hqnn_core.training.prepare import build_layer, layer_kwargs, seeds_for
    from hqnn_core.training.validate import check_components

    loaded = load_profile(profile, overrides)
    check_components(loaded)
    kwargs, _ = layer_kwargs(loaded.profile, seeds_for(loaded.profile))
    layer = build_layer(kwargs, loaded.source)
    specs = layer.specs(batch_size=loaded.profile.train.batch_size)
    diagram = layer.draw(max_width=width)
    if figure:
        layer.circuit.draw_figure().savefig(figure, bbox_inches="tight")
    if as_json:
        click.echo(json.dumps({"diagram": diagram, "specs": specs}, indent=2))
        return
    console = Console()
    console.print(Text(diagram), soft_wrap=True)
    table = Table("spec", "value", title=f"{loaded.source} on {specs['backend']}")
    step = specs.pop("per_training_step")
    for key, value in specs.items():
        table.add_row(key, Text(str(value)))
    table.add_row(f"per training step (batch {step['batch_size']})", Text(f"{step['circuits']} circuits, {step['shots']} shots, "
                                                                           f"{step['jobs']} job(s)"))
    console.print(table)
