"""`udata ogp ...`: the plugin's command-line interface.

Registered twice on purpose: as a `flask.commands` entry point, so that `udata ogp demo` runs on a
fresh machine with no configuration (Flask lists it without building an app), and by `init_app`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

grp = AppGroup("ogp", help="Open Government Partnership action plans (udata-ogp).")


@grp.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=7000, show_default=True, type=int, help="Port to listen on.")
def demo(host: str, port: int) -> None:
    """Serve a demo portal on the embedded database, with the France 2018-2020 plan loaded."""
    from udata_ogp.demo import run_demo

    run_demo(host=host, port=port)


@grp.command("check-links")
@click.option("--commitment", "commitment", default=None, help="Only this commitment's links (id).")
def check_links(commitment: str | None) -> None:
    """Run the link-health sweep now (tag links, health of every link, commitment roll-up)."""
    from bson import ObjectId
    from udata.commands import exit_with_error

    from udata_ogp.health.linkcheck import run_sweep

    if commitment is not None and not ObjectId.is_valid(commitment):
        exit_with_error(f"{commitment!r} is not a commitment id", code=2)
    summary = run_sweep(commitment=commitment).as_dict()
    click.echo(f"{summary['links']} links checked, {summary['written']} changed")
    for health, count in summary["health"].items():
        click.echo(f"  {health}: {count}")
    tags = summary.get("tags") or {}
    if tags:
        click.echo(f"Tag links: {tags['created']} created, {tags['removed']} removed")
        for item in tags["unknown"]:
            click.echo(f"  unknown tag {item['tag']} on {item['class']} {item['id']}")


@grp.command("schedule")
@click.option("--links", "links_cron", default=None, help="Cron of ogp-check-links.")
@click.option("--notices", "notices_cron", default=None, help="Cron of ogp-send-notices.")
def schedule(links_cron: str | None, notices_cron: str | None) -> None:
    """Register the plugin's periodic jobs with udata's scheduler (safe to run again)."""
    from udata_ogp.tasks import schedule_jobs

    crons = {}
    if links_cron:
        crons["ogp-check-links"] = links_cron
    if notices_cron:
        crons["ogp-send-notices"] = notices_cron
    for name, cron, what in schedule_jobs(crons):
        click.echo(f"{name}: {cron} ({what})")


@grp.command("migrate")
@click.option(
    "--dry-run", is_flag=True, help="Say what the pending migrations would do; write nothing."
)
def migrate(dry_run: bool) -> None:
    """Apply the plugin's pending migrations of stored documents (recorded; safe to run again)."""
    from udata.commands import echo, exit_with_error, success

    from udata_ogp import migrations

    def show(outcomes: list[migrations.Outcome]) -> None:
        for outcome in outcomes:
            state = "would apply" if dry_run else "applied"
            echo(f"{outcome.migration.id}: {state}: {outcome.migration.description}")
            for action in outcome.actions or ["nothing to change in this database"]:
                echo(f"  {action}")

    done = len(migrations.applied())
    try:
        outcomes = migrations.run(dry_run=dry_run)
    except migrations.MigrationError as exc:
        show(exc.done)
        exit_with_error(f"Migration {exc}: not recorded; fix the cause and run again", code=1)
    show(outcomes)
    if not outcomes:
        success(f"Nothing to migrate ({done} migrations already applied)")
    elif dry_run:
        success(f"Dry run: {len(outcomes)} migrations pending, nothing written")
    else:
        success(f"{len(outcomes)} migrations applied")


@grp.command("notices")
@click.option("--opt-in", "opt_in", multiple=True, help="Organization (or user) id to opt in.")
@click.option("--opt-out", "opt_out", multiple=True, help="Organization (or user) id to opt out.")
@click.option("--send", is_flag=True, help="Send the pending digests now.")
def notices(opt_in: tuple[str, ...], opt_out: tuple[str, ...], send: bool) -> None:
    """Opt organisations in or out of the health digests (OGP_NOTICES), or send them now."""
    from udata_ogp.health.notices import send_digests, set_opt_in

    for owner in opt_in:
        set_opt_in(owner, True)
        click.echo(f"{owner}: opted in")
    for owner in opt_out:
        set_opt_in(owner, False)
        click.echo(f"{owner}: opted out")
    if send:
        click.echo(f"Digests: {send_digests()}")


@grp.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default=None,
    help="Input format (default: from the file extension).",
)
@click.option(
    "--milestones",
    "milestones_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV only: milestones in their own CSV file.",
)
@click.option("--dry-run", is_flag=True, help="Validate and say what would change; write nothing.")
def import_command(path: str, fmt: str | None, milestones_path: str | None, dry_run: bool) -> None:
    """Import an action plan (JSON or CSV); see docs/import-format.md."""
    from udata.commands import echo, exit_with_error, success

    from udata_ogp.errors import Conflict
    from udata_ogp.plans.importing import ImportValidationError, import_plan

    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "json")
    with open(path, "rb") as handle:
        content = handle.read()
    milestones = None
    if milestones_path:
        with open(milestones_path, "rb") as handle:
            milestones = handle.read()
    try:
        report = import_plan(content, fmt, dry_run=dry_run, milestones_csv=milestones)
    except ImportValidationError as exc:
        details = "\n".join(f"  {p.pointer}: {p.message}" for p in exc.problems)
        exit_with_error(f"{path}: {len(exc.problems)} problem(s), nothing written", details, code=1)
    except Conflict as exc:  # another import of the plan runs, or a write was refused meanwhile
        exit_with_error(f"{path}: {exc.message}", code=1)
    verb = "would be " if dry_run else ""
    for label, keys in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("deleted", report.deleted),
        ("linked", report.links_created),
    ):
        echo(f"{len(keys)} {verb}{label}")
        for key in keys:
            echo(f"  {key}")
    success("Dry run: nothing written" if dry_run else f"Imported {path}")


@grp.command("export")
@click.option(
    "--plan", "slug", default=None, help="Slug of the plan (needed when there are several)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def export_command(slug: str | None, fmt: str, output: str | None) -> None:
    """Export one action plan in the canonical format (re-importable, byte-identical)."""
    from udata.commands import exit_with_error

    from udata_ogp.models import ActionPlan
    from udata_ogp.plans.exporting import export_plan

    if slug:
        plan = ActionPlan.objects(slug=slug).first()
        if plan is None:
            exit_with_error(f"No action plan with slug {slug!r}", code=1)
    else:
        plans = list(ActionPlan.objects.only("slug"))
        if len(plans) != 1:
            slugs = ", ".join(sorted(p.slug for p in plans)) or "none"
            exit_with_error(f"{len(plans)} action plans ({slugs}): choose one with --plan", code=1)
        plan = ActionPlan.objects(id=plans[0].id).first()
    text = export_plan(plan, fmt)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
