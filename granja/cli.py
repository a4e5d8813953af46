"""The `granja` command line: ask, chat, refresh, site and slack, over the configured or demo farm.

Heavy libraries (MkDocs, Slack, paramiko) are imported only by the
subcommands that use them, so `granja ask` starts fast.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.terminal import terminal_width
from granja.errors import ConfigError
from inventory.errors import InventoryCorrupt

if TYPE_CHECKING:
    from bot.engine import Engine


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, with the terminal's width given (left to itself, it imports shutil)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=terminal_width() - 2)


class _Parser(argparse.ArgumentParser):
    """An argument parser (and its subcommands' parsers) laid out by _HelpFormatter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="granja", description="ChatOps for a Xen server farm.")
    parser.add_argument("--config", help="fleet config TOML (default: $GRANJA_CONFIG, else the demo farm)")
    parser.add_argument("--state", help="state directory (default: $GRANJA_STATE, else .granja)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what granja does")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="run one chat command and print the reply")
    ask.add_argument("text", nargs="+", help="the command, e.g. where is ldap3")
    ask.add_argument("--as", dest="user", help="act as this user (admins only; the audit records both)")
    ask.add_argument("--yes", action="store_true", help="confirm a change without asking")
    ask.add_argument("-o", "--output", choices=("text", "json"), default="text",
                     help="how to print the reply: text, or JSON for scripts (schema/reply-1.json)")
    ask.add_argument("--json", dest="output", action="store_const", const="json", help="same as -o json")
    chat = sub.add_parser("chat", help="an interactive chat prompt")
    chat.add_argument("--as", dest="user", help="act as this user (admins only; the audit records both)")
    sub.add_parser("refresh", help="ask every host what it runs and update the inventory")
    site = sub.add_parser("site", help="the static inventory site")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    build = site_sub.add_parser("build", help="render the inventory and run mkdocs build")
    serve = site_sub.add_parser("serve", help="build, then serve the site on 127.0.0.1 for a preview")
    serve.add_argument("--port", type=int, default=8000)
    for command in (build, serve):
        command.add_argument("--out", help="output folder (default: the config's site.out, else site/)")
        command.add_argument("--no-refresh", action="store_true",
                             help="publish the inventory as it is, without asking the hosts first")
    sub.add_parser("watch", help="watch the farm and print alerts, one line each, until interrupted")
    slack = sub.add_parser(
        "slack", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)",
        description="Run the Slack bot and its watcher. Socket Mode when SLACK_APP_TOKEN is set (events over "
                    "a WebSocket), else HTTP with events at /slack/events. In both modes --host/--port serve "
                    "/healthz and /metrics (Prometheus); in Socket Mode nothing else.")
    slack.add_argument("--port", type=int, default=3000,
                       help="port for /healthz and /metrics, and in HTTP mode /slack/events (default 3000)")
    slack.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the granja command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a short answer still sits in the buffer: meet a closed pipe here, not at exit
        return code
    except KeyboardInterrupt:  # outside a confirmed change (which stops between steps): nothing was changed
        print("\ngranja: interrupted; nothing was changed.", file=sys.stderr)
        return 4
    except ConfigError as exc:
        print(f"granja: configuration error: {exc}", file=sys.stderr)
        return 2
    except InventoryCorrupt as exc:  # names the newest good copy and how to restore it
        print(f"granja: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `granja ask audit | head -1`: the reader has all it wanted
        return _reader_gone()


def run() -> int:
    """The entry point of `granja` and `python -m granja`: main(), collecting garbage only once there is some.

    Starting granja (importing it, reading the config, opening the inventory and the drivers) makes
    some 20,000 objects that all live as long as the process; Python's collector searched them for
    unreachable cycles every few hundred allocations, ~4 ms in all for `granja ask`. So it is off
    until granja has started (`_started`), and from then on leaves those objects out of its searches.
    As the process ends, Python searches everything left one last time: after `granja ask` that took
    as long as a bare Python start (~10 ms) and found nothing to finish, since replies are printed and
    flushed, files closed and changes written and fsynced. Freezing the objects leaves them out of it;
    Python still runs the atexit handlers and frees what it can. (mypy's command line skips its
    teardown altogether for the same reason.)
    """
    gc.disable()
    code = main()
    gc.freeze()
    return code


def _started() -> None:
    """Granja has started: the collector resumes if `run` paused it, leaving out what starting made."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _reader_gone() -> int:
    """End quietly after stdout's reader went away: no traceback, no flush error at exit; 128 + SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit: let that go nowhere
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _dispatch(args: argparse.Namespace) -> int:
    from bot import console
    from granja.app import acting_user, local_user, open_engine

    if args.command == "slack":
        return _slack(args)
    engine = open_engine(config=args.config, state=args.state)
    _started()
    scripted = getattr(args, "output", "text") == "json"  # stdout is then the JSON document alone
    for found in engine.found_journals():  # a change a killed granja left unfinished: say so first
        print(found, file=sys.stderr if scripted else sys.stdout)
    if args.command in ("ask", "chat"):
        try:
            user = acting_user(engine.config, args.user)
        except PermissionError as exc:
            print(f"granja: {exc}", file=sys.stderr)
            return 2
        account = local_user()
    if args.command == "ask":
        return _ask(engine, args, user=user, account=account)
    if args.command == "chat":
        history = engine.inventory.directory / "chat_history"
        return console.chat(engine, user=user, history=history, account=account)
    if args.command == "refresh":
        return _refresh(engine)
    if args.command == "watch":
        from granja.watching import run_watch

        return run_watch(engine, out=lambda line: print(line, flush=True))
    return _site(engine, args)


def _ask(engine: Engine, args: argparse.Namespace, *, user: str, account: str) -> int:
    """`granja ask`: one command; SIGTERM or SIGHUP outside a confirmed change ends it (exit 4)."""
    from bot import console
    from bot.console_signals import Ended, ending_on_signals, surviving

    ask = input if console.interactive() else None
    text = " ".join(args.text)
    try:
        with ending_on_signals():
            if args.output == "json":  # stdout holds the one JSON document; the preview goes to stderr
                from bot.reply_json import to_json

                reply = console.run(engine, text, user=user, yes=args.yes, ask=ask, account=account,
                                    show=to_json, note=lambda line: print(line, file=sys.stderr))
            else:
                reply = console.run(engine, text, user=user, yes=args.yes, ask=ask, account=account)
    except Ended as ended:  # no change was running (one that runs stops after its step instead)
        say = surviving(lambda line: print(line, file=sys.stderr))
        say(f"granja: {ended.signal.name}; nothing was changed.")
        return 4
    return console.exit_code(reply)


def _refresh(engine: Engine) -> int:
    from bot.refresh import refresh_inventory
    from granja.app import local_user

    summary, unreachable = refresh_inventory(engine.farm, engine.inventory, at=datetime.now(UTC),
                                             user=local_user())
    print(f"{summary.hosts_ok} hosts answered, {summary.vms} VMs: {summary.new} new, "
          f"{summary.changed} changed, {summary.removed} gone.")
    for host, reason in sorted(unreachable.items()):
        print(f"  {host} unreachable: {reason}")
    return 0 if not unreachable else 1


def _site(engine: Engine, args: argparse.Namespace) -> int:
    from granja.app import build_inventory_site
    from sitegen.build import serve_site

    if not args.no_refresh:
        _refresh(engine)  # publish what the hosts say now; unreachable hosts show as stale
    try:
        result = build_inventory_site(engine.config, engine.inventory, out=args.out)
    except ValueError as exc:  # the output folder is unsafe to empty
        print(f"granja: site not built: {exc}", file=sys.stderr)
        return 2
    print(f"Site built: {result.out / 'index.html'} ({result.pages} pages, {result.seconds:.1f} s: "
          f"Markdown {result.render_seconds:.2f} s, {result.markdown_written} pages rewritten"
          f"{', only those rebuilt' if result.incremental else ''})")
    if args.site_command == "serve":
        return serve_site(result, port=args.port)
    return 0


def _slack(args: argparse.Namespace) -> int:
    from bot.slack.settings import SettingsError, read_settings

    try:
        settings = read_settings()  # before anything else: a bad setting is one line, at once
    except SettingsError as exc:
        print(f"granja slack: {exc}", file=sys.stderr)
        return 2
    from bot.metrics import Metrics
    from bot.slack.run import serve
    from granja.app import open_engine
    from granja.watching import build_watcher

    metrics = Metrics()
    engine = open_engine(config=args.config, state=args.state,
                         site_built=metrics.site_build_seconds.observe)
    _started()
    for found in engine.found_journals():
        print(f"granja slack: {found}", flush=True)
    watcher = build_watcher(engine, remember="slack")
    metrics.follow(engine, watcher)
    return serve(engine, settings, host=args.host, port=args.port, watcher=watcher,
                 metrics=metrics.wsgi_app())
