"""``taxon serve MODEL``: the prediction service from the command line (no Qt).

Loads the model once, starts ``engine.serving.start_server`` and waits until
Ctrl+C or SIGTERM (``main.py`` turns SIGTERM into ``KeyboardInterrupt``), then
lets the requests under way finish and exits 0. Start-up prints where it
listens, the token when one is needed, and a curl line to copy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from engine.core.i18n import _


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    from ui.cli.args import whole_number

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help=_("serve a model over HTTP on this computer"),
        description=_(
            "Serve a model as a local prediction service: POST images or texts to "
            "/v1/classify and get labels back as JSON. Listens on this computer only "
            "unless --host says otherwise; any other address needs a token."
        ),
    )
    serve.add_argument(
        "model",
        metavar=_("MODEL"),
        help=_(
            "a model package folder, a .taxon-model file, or “builtin” for the "
            "built-in ImageNet model"
        ),
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        metavar=_("ADDRESS"),
        help=_("the address to listen on (default: 127.0.0.1, this computer only)"),
    )
    serve.add_argument(
        "--port",
        type=whole_number(0, 65535),
        default=8765,
        metavar=_("PORT"),
        help=_("the port to listen on; 0 picks a free one (default: 8765)"),
    )
    serve.add_argument(
        "--token",
        metavar=_("TOKEN"),
        help=_(
            "require “Authorization: Bearer TOKEN” on every request (generated "
            "and printed when listening beyond this computer)"
        ),
    )
    serve.add_argument(
        "--cors",
        action="append",
        default=[],
        metavar=_("ORIGIN"),
        help=_(
            "let web pages from this origin call the service, e.g. "
            "http://localhost:3000 (repeatable; default: none)"
        ),
    )
    serve.set_defaults(handler=cmd_serve)


def _curl_example(url: str, token: str | None, task: str) -> str:
    auth = f' -H "Authorization: Bearer {token}"' if token else ""
    if task == "text":
        return (
            f'curl{auth} -H "Content-Type: application/json" '
            f'-d \'{{"texts": ["..."]}}\' {url}/v1/classify'
        )
    return f"curl{auth} -F file=@photo.jpg {url}/v1/classify"


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.serving import load_served_model, start_server
    from engine.serving.auth import is_loopback
    from ui.cli.common import run_job

    token = args.token
    generated = False
    if not is_loopback(args.host) and not token:
        from engine.serving.auth import generate_token

        token, generated = generate_token(), True
    model = run_job(load_served_model, args.model)
    try:
        handle = start_server(model, args.host, args.port, token=token, cors=args.cors)
    except BaseException:
        model.classifier.close()
        raise
    # A token the user chose is theirs to paste; only a generated one is printed.
    shown_token = handle.token if generated else ("TOKEN" if handle.token else None)
    example = _curl_example(handle.url, shown_token, model.task)
    if args.json:
        print(
            json.dumps(
                {
                    "url": handle.url,
                    "token": handle.token if generated else None,
                    "model": model.name,
                    "task": model.task,
                }
            ),
            flush=True,
        )
    else:
        print(_("Serving “{model}” at {url}").format(model=model.name, url=handle.url))
        if generated:
            print(
                _("Token (send it as “Authorization: Bearer TOKEN”): {token}").format(
                    token=handle.token
                )
            )
        print(_("API description: {url}/docs").format(url=handle.url))
        print(_("Try: {command}").format(command=example))
        print(_("Press Ctrl+C to stop."), flush=True)
    try:
        while handle.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(_("Stopping…"), file=sys.stderr, flush=True)
    finally:
        handle.stop()
        model.classifier.close()
    return 0
