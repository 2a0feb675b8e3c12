"""The ``vtm`` command. Each area contributes a typer sub-app from its own ``cli`` module; a command
that needs a layer above its area comes from :mod:`vtm.cli_commands`. What they share (settings,
the error console) is :mod:`vtm.common.clitools`, so no area imports this module back.

The command-line contract (kept stable for tests, benchmarks and reviewers) is listed in
``docs/architecture.md``.
"""

from __future__ import annotations

import typer

from vtm.common.clitools import err, settings_or_exit

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="VTM digital employee.")
models_app = typer.Typer(no_args_is_help=True, help="Bundled models.")
app.add_typer(models_app, name="models")


@models_app.command("prepare")
def models_prepare() -> None:
    """Prepare the bundled models (cached; a second run only checks)."""
    from vtm.prepare import prepare_models

    for folder in prepare_models(settings_or_exit()):
        err.print(f"ready: {folder}")


def _register_subcommands() -> None:
    # Imported here, not at module top, so that `vtm --help` stays fast and each area owns its CLI.
    from vtm.banking.cli import app as bank_app

    app.add_typer(bank_app, name="bank")
    from vtm.audit.cli import app as audit_app
    from vtm.cli_commands.compliance import register as register_compliance_explain
    from vtm.compliance.cli import app as compliance_app

    register_compliance_explain(compliance_app)
    app.add_typer(compliance_app, name="compliance")
    app.add_typer(audit_app, name="audit")
    from vtm.cli_commands.understanding import register as register_nlu_context
    from vtm.nlu.cli import app as nlu_app

    register_nlu_context(nlu_app)
    app.add_typer(nlu_app, name="nlu")
    from vtm.cli_commands.flows import app as flows_app

    app.add_typer(flows_app, name="flows")
    from vtm.knowledge.cli import app as kb_app

    app.add_typer(kb_app, name="kb")
    from vtm.kiosk.cli import register as register_kiosk

    register_kiosk(app)
    from vtm.kiosk.server.cli import register as register_serve

    register_serve(app)
    from vtm.speech.cli import register as register_speech

    register_speech(app)
    from vtm.records.cli import app as records_app

    app.add_typer(records_app, name="records")
    from vtm.review.cli import app as review_app

    app.add_typer(review_app, name="review")
    from vtm.rasa.cli import app as rasa_app

    app.add_typer(rasa_app, name="rasa")


_register_subcommands()


def main() -> None:
    app()
