"""The `granja` command line: ask, chat, refresh, site and slack, over the configured or demo farm.

Heavy libraries (MkDocs, Slack, paramiko) are imported only by the
subcommands that use them, so `granja ask` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from granja.config import ConfigError

if TYPE_CHECKING:
    from bot.engine import Engine


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="granja", description="ChatOps for a Xen server farm.")
    parser.add_argument("--config", help="fleet config TOML (default: $GRANJA_CONFIG, else the demo farm)")
    parser.add_argument("--state", help="state directory (default: $GRANJA_STATE, else .granja)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what granja does")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="run one chat command and print the reply")
    ask.add_argument("text", nargs="+", help="the command, e.g. where is ldap3")
    ask.add_argument("--as", dest="user", help="act as this user (roles come from the config)")
    ask.add_argument("--yes", action="store_true", help="confirm a change without asking")
    chat = sub.add_parser("chat", help="an interactive chat prompt")
    chat.add_argument("--as", dest="user", help="act as this user")
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
    slack = sub.add_parser("slack", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    slack.add_argument("--port", type=int, default=3000, help="HTTP mode: port for /slack/events")
    slack.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the granja command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"granja: configuration error: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from bot import console
    from granja.app import local_user, open_engine

    if args.command == "slack":
        return _slack(args)
    engine = open_engine(config=args.config, state=args.state)
    if args.command == "ask":
        ask = input if console.interactive() else None
        reply = console.run(engine, " ".join(args.text), user=args.user or local_user(),
                            yes=args.yes, ask=ask)
        return console.exit_code(reply)
    if args.command == "chat":
        history = engine.inventory.directory / "chat_history"
        return console.chat(engine, user=args.user or local_user(), history=history)
    if args.command == "refresh":
        return _refresh(engine)
    if args.command == "watch":
        from granja.watching import run_watch

        return run_watch(engine, out=lambda line: print(line, flush=True))
    return _site(engine, args)


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
          f"Markdown {result.render_seconds:.2f} s, {result.markdown_written} pages rewritten)")
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
    watcher = build_watcher(engine)
    metrics.watch(watcher)
    engine.on_finish = metrics.command
    watcher.on_poll = metrics.refresh_seconds.labels("poll").observe
    return serve(engine, settings, host=args.host, port=args.port, watcher=watcher,
                 metrics=metrics.exposition)
