"""``hearth token create|list|revoke``: API tokens (only salted hashes are stored)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="create, list or revoke API server tokens")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (shown only once)")
    create.add_argument("name", help="a name to recognise it by, e.g. 'laptop' or 'ci'")
    actions.add_parser("list", help="list tokens (names and ids, never the tokens)")
    revoke = actions.add_parser("revoke", help="revoke a token by id or name")
    revoke.add_argument("token", help="the token's id or name")
    parser.set_defaults(func=_token)


def _token(args: argparse.Namespace) -> int:
    from app.backend.paths import DataPaths
    from app.backend.server.tokens import TokenStore
    from app.cli.output import fail

    store = TokenStore.in_root(DataPaths.default().ensure().root)
    if args.action == "create":
        try:
            record, token = store.create(args.name)
        except ValueError as exc:
            return fail(str(exc))
        print(token)
        print(
            f"Token '{record.name}' (id {record.id}) created. It is shown only this once; "
            "every API request now needs a token (Authorization: Bearer …).",
            file=sys.stderr,
        )
        return 0
    if args.action == "list":
        for record in store.records():
            created = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M")
            print(f"{record.id}  {record.name}  created {created}")
        return 0
    try:
        record = store.revoke(args.token)
    except KeyError as exc:
        return fail(str(exc.args[0]))
    print(f"Revoked token '{record.name}' ({record.id}).", file=sys.stderr)
    return 0
